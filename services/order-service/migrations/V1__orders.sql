-- Orders and their validation progress (Microservices Patterns, ch. 3: an order is
-- accepted at once as PENDING and validated asynchronously).
CREATE TABLE orders (
    id                   uuid        PRIMARY KEY,
    consumer_id          uuid        NOT NULL,
    restaurant_id        uuid        NOT NULL,
    line_items           jsonb       NOT NULL,
    total_cents          bigint      NOT NULL,
    state                text        NOT NULL CHECK (state IN ('PENDING', 'VALIDATED', 'REJECTED', 'CANCELLED')),
    consumer_validated   boolean     NOT NULL DEFAULT false,
    restaurant_validated boolean     NOT NULL DEFAULT false,
    rejection_reason     text,
    validation_deadline  timestamptz NOT NULL,
    created_at           timestamptz NOT NULL DEFAULT now(),
    updated_at           timestamptz NOT NULL DEFAULT now()
);
-- The deadline sweeper looks only at pending orders.
CREATE INDEX orders_pending_deadline ON orders (validation_deadline) WHERE state = 'PENDING';

-- A replica of restaurant menus, maintained from restaurant events (pattern: replicate
-- data), so pricing an order needs no synchronous call to restaurant-service.
CREATE TABLE restaurant_replica (
    restaurant_id uuid        PRIMARY KEY,
    name          text        NOT NULL,
    delivers      boolean     NOT NULL,
    menu          jsonb       NOT NULL,
    updated_at    timestamptz NOT NULL DEFAULT now()
);
