-- Idempotent consumers (Microservices Patterns, ch. 3): a handler applies its effect and
-- records the message id here in the same transaction. A redelivered message finds its
-- id and is acknowledged without being applied again.
CREATE TABLE processed_messages (
    subscriber   text        NOT NULL,
    message_id   uuid        NOT NULL,
    processed_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (subscriber, message_id)
);
