-- When the checkout form was first served (GET /checkout/{id}). ECPay refuses a MerchantTradeNo it has
-- seen, so the form is served once; a second visit gets a page saying it was already sent to ECPay.
-- Added last and INSTANT (MySQL 8.0.12+, MariaDB 10.3+): no table rebuild, no long lock on transactions.
ALTER TABLE transactions ADD COLUMN checkout_started_at DATETIME(6) NULL, ALGORITHM=INSTANT;
