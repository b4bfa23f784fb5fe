-- The same for a rejected result that an operator has looked at (one that matches no transaction, or
-- whose transaction is not flagged): `ecpay-events db review resolve --event ID`. Its own migration so
-- that each one is a single statement (MySQL commits DDL at once; a half-applied migration cannot be re-run).
SET SESSION lock_wait_timeout = 10;
ALTER TABLE payment_events ADD COLUMN reviewed_at DATETIME(6) NULL, ADD COLUMN review_note VARCHAR(200) NULL, ALGORITHM=INSTANT;
