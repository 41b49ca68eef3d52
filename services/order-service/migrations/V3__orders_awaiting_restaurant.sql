-- An order for a restaurant that order-service's replica does not know yet (created a
-- moment ago, its RestaurantCreated event still on its way, or the replication between
-- the two services interrupted) is accepted as PENDING without a total: availability
-- first, and the client is not blamed for the system's replication lag. When the
-- replica learns the restaurant, the order is priced and its validation starts; if it
-- never does, the deadline sweeper rejects it. NULL total = not priced yet.
ALTER TABLE orders ALTER COLUMN total_cents DROP NOT NULL;
CREATE INDEX orders_awaiting_restaurant ON orders (restaurant_id)
    WHERE total_cents IS NULL AND state = 'PENDING';
