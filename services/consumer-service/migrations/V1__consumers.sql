-- The consumers that may place orders. The spending limit is what order validation
-- checks an order's total against; the default mirrors
-- consumer_service::domain::DEFAULT_ORDER_LIMIT_CENTS (inserts always name it).
CREATE TABLE consumers (
    id                uuid        PRIMARY KEY,
    name              text        NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    order_limit_cents bigint      NOT NULL DEFAULT 100000 CHECK (order_limit_cents >= 0),
    created_at        timestamptz NOT NULL DEFAULT now()
);
