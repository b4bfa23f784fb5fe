-- When the checkout form was first served (GET /checkout/{id}). ECPay refuses a MerchantTradeNo it has
-- seen, so the form is served once; a second visit gets a page saying it was already sent to ECPay.
ALTER TABLE transactions ADD COLUMN checkout_started_at DATETIME(6) NULL AFTER expires_at;
