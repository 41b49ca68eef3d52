//! order-service built in the test process (its own `build`, port 0) against real
//! PostgreSQL and a real broker: the API, replies, the replica, corrupt rows.
