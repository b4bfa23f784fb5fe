-- When ECPay's QueryTradeInfo confirmed a completed deposit's credit (status 1, same amount, same TradeNo):
-- the payment-timeout execution asks once, after the credit. NULL = not (yet) confirmed; a credit it does
-- not confirm is flagged in review_reason instead. Added last and INSTANT, like V4.
SET SESSION lock_wait_timeout = 10;
ALTER TABLE transactions ADD COLUMN confirmed_at DATETIME(6) NULL, ALGORITHM=INSTANT;
