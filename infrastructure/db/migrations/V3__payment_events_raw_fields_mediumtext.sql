-- payment_events.raw_fields holds a post as JSON. Notifications accepts bodies up to 16 KiB, and
-- JSON-escaping (\uXXXX for non-ASCII, escaped quotes) can grow that past TEXT's 64 KB: MEDIUMTEXT (16 MB).
ALTER TABLE payment_events MODIFY COLUMN raw_fields MEDIUMTEXT NOT NULL;
