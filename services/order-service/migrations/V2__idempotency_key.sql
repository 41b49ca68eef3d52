-- The client's Idempotency-Key of POST /v1/orders (optional): a retry of a request whose
-- answer was lost finds the order it created instead of creating a second one. NULLs are
-- distinct, so orders placed without a key never collide.
ALTER TABLE orders ADD COLUMN idempotency_key text UNIQUE;
