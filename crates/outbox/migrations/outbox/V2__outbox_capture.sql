-- Capture starts with the table, not with the relay's first start.
--
-- A logical replication slot only sees WAL written after it exists. If the service wrote
-- messages before its relay had created the slot, those messages would never be
-- published. So the migration creates the slot (when the role may replicate) and the
-- publication right away; the relay finds them and streams from the slot's start. Names
-- must match cdc-relay's defaults (platform::outbox::schema::{PUBLICATION, slot_name}).
--
-- The slot comes first: PostgreSQL refuses to create one in a transaction that has
-- already written anything.
DO $$
DECLARE
    slot text := 'ftgo_outbox_' || regexp_replace(lower(current_database()), '[^a-z0-9_]', '_', 'g');
BEGIN
    IF (SELECT rolreplication OR rolsuper FROM pg_roles WHERE rolname = current_user)
       AND NOT EXISTS (SELECT 1 FROM pg_replication_slots WHERE slot_name = slot) THEN
        PERFORM pg_create_logical_replication_slot(slot, 'pgoutput');
    END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_publication WHERE pubname = 'ftgo_outbox') THEN
        CREATE PUBLICATION ftgo_outbox FOR TABLE outbox WITH (publish = 'insert');
    END IF;
END $$;
