-- An operator closes a transaction's review (`ecpay-events db review resolve`): when, and what was done.
-- A review is open while review_reason is set and reviewed_at is not; Settlement re-opens it (reviewed_at
-- back to NULL) when a later result flags the transaction again. Added last and INSTANT, like V4.
SET SESSION lock_wait_timeout = 10;
ALTER TABLE transactions ADD COLUMN reviewed_at DATETIME(6) NULL, ADD COLUMN review_note VARCHAR(200) NULL, ALGORITHM=INSTANT;
