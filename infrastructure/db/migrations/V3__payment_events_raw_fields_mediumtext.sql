-- payment_events.raw_fields holds a post as JSON. Notifications accepts bodies up to 16 KiB, and
-- JSON-escaping (\uXXXX for non-ASCII, escaped quotes) can grow that past TEXT's 64 KB: MEDIUMTEXT (16 MB).
-- A type change copies the table (ALGORITHM=COPY, writes blocked): on a database that already holds
-- many events, disable the Settlement SQS event source mapping while it runs (messages wait in the
-- queue; nothing is lost) and enable it again afterwards; then run `ecpay-events timeouts audit` and
-- `timeouts rearm` for any timer that ended PaidButNotSettled meanwhile.
ALTER TABLE payment_events MODIFY COLUMN raw_fields MEDIUMTEXT NOT NULL;
