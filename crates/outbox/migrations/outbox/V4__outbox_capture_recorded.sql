-- Log tailing: the replication slot must exist from the first outbox message on, and its
-- existence is recorded, so that a relay finding it gone later knows WAL may be lost.
--
-- Outbox rows are deleted in the transaction that writes them: in log tailing mode the WAL
-- is the only copy of a message until the relay has published it. V2 created the slot
-- only when the role could replicate, and skipped it quietly otherwise; the relay then
-- created it on its first start, past whatever had been written meanwhile. Here:
-- - a missing slot is created only while no message was ever written (the outbox's
--   identity sequence never used); otherwise the migration fails, saying why;
-- - a role without REPLICATION fails the migration, saying what to do;
-- - `ftgo_relay_slots` records the slot: cdc-relay refuses to recreate a recorded slot
--   that has disappeared (failover, `max_slot_wal_keep_size`, a hand drop) unless an
--   operator accepts the gap (`relay.accept_slot_loss`, docs/architecture.md).
--
-- The slot comes first: PostgreSQL refuses to create one in a transaction that has
-- already written anything. Names match cdc-relay's (platform::outbox::schema::slot_name).
-- A relay may have found the slot (made by V2) and recorded it before this ran: the table
-- and its row are then kept as the relay wrote them.
DO $$
DECLARE
    slot text := 'ftgo_outbox_' || regexp_replace(lower(current_database()), '[^a-z0-9_]', '_', 'g');
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_replication_slots WHERE slot_name = slot) THEN
        IF NOT (SELECT rolreplication OR rolsuper FROM pg_roles WHERE rolname = current_user) THEN
            RAISE EXCEPTION 'role % lacks the REPLICATION attribute: log tailing needs replication slot % from the first outbox message on', current_user, slot
                USING HINT = 'ALTER ROLE ' || quote_ident(current_user) || ' REPLICATION; or run the service and its relay in polling mode (outbox.mode=polling, relay mode=polling)';
        END IF;
        IF pg_sequence_last_value(pg_get_serial_sequence('outbox', 'sequence')) IS NOT NULL THEN
            RAISE EXCEPTION 'replication slot % is missing but outbox messages were written: they may never have been published', slot
                USING HINT = 'find out where the slot went; to accept the gap, start the relay once with relay.accept_slot_loss=true (docs/architecture.md, "When the relay refuses to stream")';
        END IF;
        PERFORM pg_create_logical_replication_slot(slot, 'pgoutput');
    END IF;
END $$;

CREATE TABLE IF NOT EXISTS ftgo_relay_slots (
    slot_name   text        PRIMARY KEY,
    -- Where the slot started: nothing written before it is in its stream.
    created_lsn pg_lsn      NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    -- The last position the relay confirmed (updated at each session start): after a
    -- loss, WAL from here on may not have been published.
    confirmed_lsn pg_lsn
);

INSERT INTO ftgo_relay_slots (slot_name, created_lsn, confirmed_lsn)
SELECT slot_name, restart_lsn, confirmed_flush_lsn
FROM pg_replication_slots
WHERE slot_name = 'ftgo_outbox_' || regexp_replace(lower(current_database()), '[^a-z0-9_]', '_', 'g')
ON CONFLICT (slot_name) DO NOTHING;
