-- ECPay's QueryTradeInfo answers HTTP 403 when called too fast and then blocks the merchant for about 30 minutes
-- (查詢訂單, developers.ecpay.com.tw/?p=2890). On Lambda every Timeouts instance has its own memory, so the block is
-- kept here, in one row, and every instance reads it before asking ECPay. A new table: nothing running is touched.
CREATE TABLE IF NOT EXISTS ecpay_query_block (
  id            TINYINT UNSIGNED NOT NULL PRIMARY KEY,   -- always 1: there is one ECPay merchant
  blocked_until DATETIME(6)      NOT NULL,               -- UTC; no instance asks ECPay before it
  answer        VARCHAR(200)     NOT NULL DEFAULT '',    -- the 403's body, clipped
  started_at    DATETIME(6)      NOT NULL                -- UTC, when the 403 that set it came
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
