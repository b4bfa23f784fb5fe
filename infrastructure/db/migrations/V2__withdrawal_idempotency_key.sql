-- Idempotency-Key for money-moving requests (withdrawals): a retried request with the same key
-- replays the first outcome instead of debiting twice. Unique per user; NULL when no key was sent.
ALTER TABLE transactions
    ADD COLUMN idempotency_key VARCHAR(64) NULL AFTER review_reason,
    ADD CONSTRAINT uq_transactions_user_idempotency_key UNIQUE (user_id, idempotency_key);
