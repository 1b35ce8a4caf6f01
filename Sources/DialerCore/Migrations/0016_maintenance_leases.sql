-- 0016_maintenance_leases.sql: which process runs a fleet-wide chore (retention), as a row with an expiry instead of a
-- session advisory lock: a pooler in transaction mode (PgBouncer) hands each transaction to any server connection, so a
-- session lock taken in one transaction and released in another leaks on a connection nobody holds.
CREATE TABLE IF NOT EXISTS maintenance_leases (
    name        text PRIMARY KEY,
    holder      text NOT NULL,
    expires_at  timestamptz NOT NULL
);
COMMENT ON TABLE maintenance_leases IS
    'Fleet-wide chores (retention): the process running one (holder) until expires_at; another takes it over once it has expired.';
