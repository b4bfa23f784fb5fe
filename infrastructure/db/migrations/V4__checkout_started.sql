-- When the checkout form was first served (GET /checkout/{id}). ECPay refuses a MerchantTradeNo it has
-- seen, so the form is served once; a second visit gets a page saying it was already sent to ECPay.
-- Added last and INSTANT (MySQL 8.0.12+, MariaDB 10.3+): no table rebuild. It still needs a brief
-- exclusive metadata lock, which waits behind open transactions on the table and blocks new queries
-- while it waits: give up after 10 s instead (the migration fails and can simply be run again).
SET SESSION lock_wait_timeout = 10;
ALTER TABLE transactions ADD COLUMN checkout_started_at DATETIME(6) NULL, ALGORITHM=INSTANT;
