-- The transactional outbox (Microservices Patterns, ch. 3).
--
-- A service appends its messages here in the same transaction as its business data; the
-- CDC relay reads the inserts from the write-ahead log (logical replication, pgoutput)
-- and publishes them to Kafka. Rows are deleted in the transaction that inserted them:
-- the insert stays in the WAL, which is all the relay reads, so the table never grows.
CREATE TABLE outbox (
    -- Commit order is the WAL's order, not this column's; it is the primary key because
    -- deletes need an index, and a polling publisher can use it.
    sequence       bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    -- UUIDv7: unique and roughly time-ordered; consumers deduplicate on it.
    id             uuid        NOT NULL,
    -- The channel (Kafka topic).
    destination    text        NOT NULL,
    -- The aggregate id: Kafka key, so one aggregate's messages stay in order.
    message_key    text        NOT NULL,
    message_type   text        NOT NULL,
    schema_version integer     NOT NULL,
    -- String-to-string map, published as Kafka headers (traceparent, content-type, ...).
    headers        jsonb       NOT NULL DEFAULT '{}'::jsonb,
    payload        bytea       NOT NULL,
    created_at     timestamptz NOT NULL DEFAULT clock_timestamp()
);
