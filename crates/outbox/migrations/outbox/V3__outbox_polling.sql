-- What a polling publisher (cdc-relay in `polling` mode) needs to read the table in order
-- without logical replication: the id of the transaction that wrote each row.
--
-- The poller publishes rows in `sequence` order, but a sequence value is taken before its
-- transaction commits: a row with a lower sequence may become visible after one with a
-- higher sequence. The poller therefore stops at the first row whose transaction is not
-- older than the oldest transaction still running (pg_snapshot_xmin): see cdc-relay's
-- `polling` module. In log tailing mode the column is unused (and the table empty).
ALTER TABLE outbox ADD COLUMN xid xid8 NOT NULL DEFAULT pg_current_xact_id();
