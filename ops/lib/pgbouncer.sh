#!/usr/bin/env bash
# PgBouncer (Debian's package) in transaction pooling mode in front of the private PostgreSQL cluster, for the tests.
# Source ops/lib/pg.sh and call pg_up first, then source this file and call `pgbouncer_up`: it installs pgbouncer with
# apt-get when missing (the package's own service is left alone), makes a fresh database dialer_pgb, starts a private
# pgbouncer as the postgres user (it refuses to run as root) on a free loopback port, and exports
#   DIALER_PGBOUNCER_URL   postgres://dialer@127.0.0.1:PORT/dialer_pgb   (through the pooler)
#   DIALER_PGBOUNCER_DIRECT_URL   the same database, straight to PostgreSQL (LISTEN, checks)
#   DIALER_PGBOUNCER_SESSION_URL   the same database through the pooler in session mode (LISTEN from hosts that cannot
#                                  reach PostgreSQL itself)
#   DIALER_PGBOUNCER_ADMIN   its admin console (SHOW STATS)
# PGBOUNCER_LISTEN (default 127.0.0.1) is its listen_addr: the fleet test adds its bridge's address. `pgbouncer_down`
# stops it.
set -euo pipefail

pgbouncer_up() {
    if ! command -v pgbouncer >/dev/null 2>&1 && [ ! -x /usr/sbin/pgbouncer ]; then
        echo "pgbouncer: installing Debian's pgbouncer" >&2
        local sudo=""; [ "$(id -u)" -eq 0 ] || sudo=sudo
        $sudo apt-get update -qq || { echo "pgbouncer: apt-get update failed" >&2; return 1; }
        DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq pgbouncer >/dev/null \
            || { echo "pgbouncer: apt-get could not install pgbouncer" >&2; return 1; }
    fi
    local bin; bin=$(command -v pgbouncer || echo /usr/sbin/pgbouncer)
    local dir; dir="$(dirname "$PGDATA_DIR")/pgbouncer"
    as_postgres mkdir -p "$dir"
    [ -f "$dir/pgbouncer.pid" ] && as_postgres kill "$(cat "$dir/pgbouncer.pid")" 2>/dev/null && sleep 0.5 || true
    local psql=("$PG_BIN/psql" -h 127.0.0.1 -p "$PG_PORT" -U postgres -qtA -v ON_ERROR_STOP=1 -d postgres)
    "${psql[@]}" -c "DROP DATABASE IF EXISTS dialer_pgb WITH (FORCE)" -c "CREATE DATABASE dialer_pgb OWNER $PG_ROLE" >/dev/null
    local port=16432
    while port_in_use "$port"; do port=$((port + 1)); done
    # auth_type trust, as the private cluster itself (loopback only); the user must still be listed in auth_file.
    cat <<CONF | as_postgres tee "$dir/pgbouncer.ini" >/dev/null
[databases]
dialer_pgb = host=127.0.0.1 port=$PG_PORT dbname=dialer_pgb
dialer_pgb_session = host=127.0.0.1 port=$PG_PORT dbname=dialer_pgb pool_mode=session
[pgbouncer]
listen_addr = ${PGBOUNCER_LISTEN:-127.0.0.1}
listen_port = $port
unix_socket_dir =
auth_type = trust
auth_file = $dir/userlist.txt
admin_users = $PG_ROLE
pool_mode = transaction
default_pool_size = 8
max_client_conn = 400
server_reset_query =
logfile = $dir/pgbouncer.log
pidfile = $dir/pgbouncer.pid
CONF
    printf '"%s" ""\n' "$PG_ROLE" | as_postgres tee "$dir/userlist.txt" >/dev/null
    as_postgres "$bin" -d "$dir/pgbouncer.ini"
    for _ in $(seq 50); do port_in_use "$port" && break; sleep 0.1; done
    port_in_use "$port" || { echo "pgbouncer: did not start; its log:" >&2; cat "$dir/pgbouncer.log" >&2; return 1; }
    PGBOUNCER_DIR=$dir
    export DIALER_PGBOUNCER_URL="postgres://$PG_ROLE@127.0.0.1:$port/dialer_pgb"
    export DIALER_PGBOUNCER_DIRECT_URL="postgres://$PG_ROLE@127.0.0.1:$PG_PORT/dialer_pgb"
    export DIALER_PGBOUNCER_SESSION_URL="postgres://$PG_ROLE@127.0.0.1:$port/dialer_pgb_session"
    export DIALER_PGBOUNCER_PORT=$port
    export DIALER_PGBOUNCER_ADMIN="postgres://$PG_ROLE@127.0.0.1:$port/pgbouncer"
    echo "pgbouncer: $("$bin" --version | head -1) listening on 127.0.0.1:$port (transaction pooling)" >&2
}

pgbouncer_down() {
    [ -n "${PGBOUNCER_DIR:-}" ] && [ -f "$PGBOUNCER_DIR/pgbouncer.pid" ] && as_postgres kill "$(cat "$PGBOUNCER_DIR/pgbouncer.pid")" 2>/dev/null || true
}
