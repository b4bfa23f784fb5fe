-- EcpayEvents ledger schema. MySQL 8 compatible; tested on MariaDB 10.11.
-- Money is integer TWD (BIGINT). Invariant: users.balance = SUM(ledger_entries.amount) per user.

CREATE TABLE users (
    id          BIGINT       NOT NULL AUTO_INCREMENT PRIMARY KEY,
    username    VARCHAR(64)  NOT NULL,
    email       VARCHAR(254) NOT NULL,
    balance     BIGINT       NOT NULL DEFAULT 0,
    created_at  DATETIME(6)  NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
    CONSTRAINT chk_users_balance_non_negative CHECK (balance >= 0)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE transactions (
    id                  BIGINT       NOT NULL AUTO_INCREMENT PRIMARY KEY,
    user_id             BIGINT       NOT NULL,
    type                ENUM('deposit','withdrawal') NOT NULL,
    amount              BIGINT       NOT NULL,
    status              ENUM('pending','completed','failed','expired') NOT NULL,
    -- Deposits only. Unique and never reused: ECPay rejects a number it has seen, forever.
    merchant_trade_no   VARCHAR(20)  NULL,
    payment_method      VARCHAR(20)  NULL,
    item_name           VARCHAR(400) NULL,
    ecpay_trade_no      VARCHAR(20)  NULL,
    payment_type        VARCHAR(50)  NULL,
    rtn_code            INT          NULL,
    rtn_msg             VARCHAR(200) NULL,
    -- What ATM/CVS/BARCODE issuing returned (PaymentInfoURL).
    bank_code           VARCHAR(3)   NULL,
    v_account           VARCHAR(16)  NULL,
    payment_no          VARCHAR(20)  NULL,
    barcode1            VARCHAR(20)  NULL,
    barcode2            VARCHAR(20)  NULL,
    barcode3            VARCHAR(20)  NULL,
    expires_at          DATETIME(6)  NULL,
    paid_at             DATETIME(6)  NULL,
    -- Set when something needs an operator's eye (e.g. money arrived after the payment expired).
    review_reason       VARCHAR(200) NULL,
    created_at          DATETIME(6)  NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
    updated_at          DATETIME(6)  NOT NULL DEFAULT CURRENT_TIMESTAMP(6) ON UPDATE CURRENT_TIMESTAMP(6),
    CONSTRAINT uq_transactions_merchant_trade_no UNIQUE (merchant_trade_no),
    CONSTRAINT fk_transactions_user FOREIGN KEY (user_id) REFERENCES users (id),
    CONSTRAINT chk_transactions_amount_positive CHECK (amount > 0),
    INDEX ix_transactions_user_id (user_id, id),
    INDEX ix_transactions_status_expires (status, expires_at)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- Every verified ECPay post or QueryTradeInfo answer, applied or not.
CREATE TABLE payment_events (
    id                  BIGINT       NOT NULL AUTO_INCREMENT PRIMARY KEY,
    transaction_id      BIGINT       NULL,
    merchant_trade_no   VARCHAR(64)  NULL,
    source              VARCHAR(20)  NOT NULL,
    raw_fields          TEXT         NOT NULL,
    received_at         DATETIME(6)  NOT NULL,
    recorded_at         DATETIME(6)  NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
    outcome             VARCHAR(20)  NOT NULL,
    reason              VARCHAR(200) NULL,
    -- SHA-256 (hex) over the event's identity: an identical re-send maps to the same key.
    dedup_key           CHAR(64)     NOT NULL,
    CONSTRAINT uq_payment_events_dedup UNIQUE (dedup_key),
    CONSTRAINT fk_payment_events_transaction FOREIGN KEY (transaction_id) REFERENCES transactions (id),
    INDEX ix_payment_events_transaction (transaction_id),
    INDEX ix_payment_events_outcome (outcome, id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- One entry per credited or debited transaction: credit > 0, debit < 0.
CREATE TABLE ledger_entries (
    id              BIGINT      NOT NULL AUTO_INCREMENT PRIMARY KEY,
    user_id         BIGINT      NOT NULL,
    transaction_id  BIGINT      NOT NULL,
    amount          BIGINT      NOT NULL,
    created_at      DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
    CONSTRAINT uq_ledger_entries_transaction UNIQUE (transaction_id),
    CONSTRAINT fk_ledger_entries_user FOREIGN KEY (user_id) REFERENCES users (id),
    CONSTRAINT fk_ledger_entries_transaction FOREIGN KEY (transaction_id) REFERENCES transactions (id),
    CONSTRAINT chk_ledger_entries_amount_nonzero CHECK (amount <> 0),
    INDEX ix_ledger_entries_user (user_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
