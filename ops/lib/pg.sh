#!/usr/bin/env bash
# Private PostgreSQL 15 cluster for the demo, the tests and the benchmark.
# Source this file, then call `pg_up`. It installs Debian's postgresql-15 if it is missing, creates a cluster owned by the
# unprivileged `postgres` user (initdb refuses root), listens on 127.0.0.1 only, and exports DATABASE_URL.
# Nothing here touches a system cluster: the data directory, the socket and the port are the project's own.
set -euo pipefail

PG_VERSION=15
PG_BIN=${PG_BIN:-/usr/lib/postgresql/$PG_VERSION/bin}
PG_PORT=${DIALER_PG_PORT:-55432}
if [ -n "${DIALER_PG_PORT:-}" ]; then DIALER_PG_PORT_FIXED=1; fi
PG_DB=${DIALER_PG_DB:-dialer}
PG_ROLE=dialer

# Runs a command as the postgres user, from /, since the project folder may not be readable to that user.
as_postgres() {
    if [ "$(id -un)" = postgres ]; then (cd / && "$@"); return; fi
    if [ "$(id -u)" -eq 0 ]; then
        if command -v runuser >/dev/null 2>&1; then (cd / && runuser -u postgres -- "$@"); else (cd / && su postgres -s /bin/sh -c "$(printf '%q ' "$@")"); fi
    else
        (cd / && sudo -u postgres "$@")
    fi
}

port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

pg_install() {
    [ -x "$PG_BIN/initdb" ] && return 0
    echo "pg: installing Debian's postgresql-$PG_VERSION" >&2
    local sudo=""; [ "$(id -u)" -eq 0 ] || sudo=sudo
    # Only the binaries are wanted: keep the package from creating and starting its own 'main' cluster.
    $sudo mkdir -p /etc/postgresql-common/createcluster.d
    echo "create_main_cluster = false" | $sudo tee /etc/postgresql-common/createcluster.d/openphn-dialer.conf >/dev/null
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "postgresql-$PG_VERSION" >/dev/null
}

# The cluster lives in the project's .run/ when the postgres user can reach it; a fresh clone under a private
# temporary directory (mode 700) is not reachable, so it then lives in /tmp under a name derived from the project path.
pg_dir() {
    local root=$1 dir="$1/.run/pg"
    mkdir -p "$root/.run"
    if as_postgres test -x "$root/.run" 2>/dev/null && as_postgres test -w "$root/.run" 2>/dev/null; then
        echo "$dir"
    else
        echo "/tmp/openphn-dialer-pg-$(printf '%s' "$root" | cksum | cut -d' ' -f1)"
    fi
}

pg_up() {
    local root; root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
    pg_install
    id postgres >/dev/null 2>&1 || { echo "pg: no 'postgres' user; install postgresql-$PG_VERSION" >&2; return 1; }
    local dir; dir=$(pg_dir "$root")
    PGDATA_DIR="$dir/data"; PG_SOCKET_DIR="$dir/socket"; PG_LOG="$dir/server.log"
    if [ ! -d "$dir" ] || [ "$(stat -c %U "$dir")" != postgres ]; then
        mkdir -p "$dir"; chown postgres: "$dir" 2>/dev/null || true
    fi
    if [ ! -s "$PGDATA_DIR/PG_VERSION" ]; then
        # A port another cluster already uses (an earlier clone's, a system one) is skipped; the choice is kept with the cluster.
        if [ -z "${DIALER_PG_PORT_FIXED:-}" ]; then
            while port_in_use "$PG_PORT"; do PG_PORT=$((PG_PORT + 1)); done
        fi
        as_postgres mkdir -p "$PGDATA_DIR" "$PG_SOCKET_DIR"
        as_postgres "$PG_BIN/initdb" -D "$PGDATA_DIR" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 >/dev/null
        cat <<CONF | as_postgres tee -a "$PGDATA_DIR/postgresql.conf" >/dev/null
# openphn-dialer private cluster
listen_addresses = '127.0.0.1'
port = $PG_PORT
unix_socket_directories = '$PG_SOCKET_DIR'
max_connections = 200
shared_buffers = 512MB
synchronous_commit = on
log_min_messages = warning
CONF
        printf 'local all all trust\nhost all all 127.0.0.1/32 trust\n' | as_postgres tee "$PGDATA_DIR/pg_hba.conf" >/dev/null
    fi
    as_postgres mkdir -p "$PG_SOCKET_DIR"
    PG_PORT=$(sed -n 's/^port = \([0-9]*\)$/\1/p' "$PGDATA_DIR/postgresql.conf" 2>/dev/null | tail -1 || true)
    PG_PORT=${PG_PORT:-55432}
    if ! as_postgres "$PG_BIN/pg_ctl" -D "$PGDATA_DIR" status >/dev/null 2>&1; then
        as_postgres "$PG_BIN/pg_ctl" -D "$PGDATA_DIR" -l "$PG_LOG" -w -t 60 start >/dev/null
    fi
    local psql=("$PG_BIN/psql" -h 127.0.0.1 -p "$PG_PORT" -U postgres -qtA -v ON_ERROR_STOP=1)
    if [ -z "$("${psql[@]}" -d postgres -c "SELECT 1 FROM pg_roles WHERE rolname = '$PG_ROLE'")" ]; then
        "${psql[@]}" -d postgres -c "CREATE ROLE $PG_ROLE LOGIN CREATEDB"
    fi
    for db in "$PG_DB" "${PG_DB}_test" "${PG_DB}_bench"; do
        if [ -z "$("${psql[@]}" -d postgres -c "SELECT 1 FROM pg_database WHERE datname = '$db'")" ]; then
            "${psql[@]}" -d postgres -c "CREATE DATABASE $db OWNER $PG_ROLE"
        fi
    done
    export DIALER_PG_PORT=$PG_PORT PG_BIN PGDATA_DIR
    export DATABASE_URL="postgres://$PG_ROLE@127.0.0.1:$PG_PORT/$PG_DB"
    export DIALER_TEST_DATABASE_URL="postgres://$PG_ROLE@127.0.0.1:$PG_PORT/${PG_DB}_test"
    export DIALER_BENCH_DATABASE_URL="postgres://$PG_ROLE@127.0.0.1:$PG_PORT/${PG_DB}_bench"
}

pg_restart() { as_postgres "$PG_BIN/pg_ctl" -D "$PGDATA_DIR" -l "$PG_LOG" -w -t 60 -m fast restart >/dev/null; }
pg_down() { as_postgres "$PG_BIN/pg_ctl" -D "$PGDATA_DIR" -w -m fast stop >/dev/null 2>&1 || true; }
