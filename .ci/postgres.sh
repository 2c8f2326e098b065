# A throwaway PostgreSQL cluster on loopback for the annotation server's PostgreSQL tests.
#
# Sourced by .ci/run: `masklet_pg_start` installs Debian's postgresql if it is missing (as
# root), makes a cluster in a temporary folder, starts it on 127.0.0.1 at a free port, creates
# a database and exports MASKLET_TEST_POSTGRES_URL; `masklet_pg_stop` stops it and deletes the
# folder. When anything fails it warns, leaves MASKLET_TEST_POSTGRES_URL unset (the PostgreSQL
# tests skip) and returns 1; it never exits the shell that sourced it.
#
# Run alone, it starts the cluster, runs its arguments (default: a query through psql) with
# MASKLET_TEST_POSTGRES_URL set, and stops the cluster:
#   bash .ci/postgres.sh
#   bash .ci/postgres.sh .venv/bin/python -m pytest -q tests/serve/test_postgres.py

MASKLET_PG_DIR=""
MASKLET_PG_BIN=""
MASKLET_PG_USER=""

_masklet_pg_warn() {
    echo "ci: $*; the PostgreSQL tests will skip" >&2
}

# The newest installed server's bin folder (Debian keeps them under /usr/lib/postgresql/N/bin).
_masklet_pg_bindir() {
    local dir
    dir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
    if [ -n "$dir" ] && [ -x "$dir/initdb" ]; then
        echo "$dir"
    elif command -v initdb >/dev/null 2>&1 && command -v pg_ctl >/dev/null 2>&1; then
        dirname "$(command -v initdb)"
    else
        return 1
    fi
}

# Runs a command as the cluster's owner: initdb and postgres refuse to run as root.
_masklet_pg_as_owner() {
    if [ "$(id -u)" = 0 ]; then
        runuser -u "$MASKLET_PG_USER" -- "$@"
    else
        "$@"
    fi
}

masklet_pg_start() {
    unset MASKLET_TEST_POSTGRES_URL
    if ! MASKLET_PG_BIN=$(_masklet_pg_bindir); then
        if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
            echo "ci: installing PostgreSQL (Debian's postgresql package)" >&2
            if ! (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null); then
                _masklet_pg_warn "could not install postgresql"
                return 1
            fi
        fi
        if ! MASKLET_PG_BIN=$(_masklet_pg_bindir); then
            _masklet_pg_warn "PostgreSQL (initdb, pg_ctl) is missing and cannot be installed here"
            return 1
        fi
    fi
    if [ "$(id -u)" = 0 ]; then
        MASKLET_PG_USER=postgres  # made by Debian's package
        if ! id -u "$MASKLET_PG_USER" >/dev/null 2>&1; then
            _masklet_pg_warn "running as root and there is no '$MASKLET_PG_USER' user to own the cluster"
            return 1
        fi
    else
        MASKLET_PG_USER=$(id -un)
    fi
    local port
    if ! port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'); then
        _masklet_pg_warn "could not find a free port"
        return 1
    fi
    if ! MASKLET_PG_DIR=$(mktemp -d "${TMPDIR:-/tmp}/masklet-pg.XXXXXX"); then
        _masklet_pg_warn "could not make a temporary folder"
        return 1
    fi
    chmod 700 "$MASKLET_PG_DIR"
    if [ "$(id -u)" = 0 ]; then chown "$MASKLET_PG_USER" "$MASKLET_PG_DIR"; fi
    # trust on loopback and the cluster's own socket folder only: a throwaway cluster
    if ! _masklet_pg_as_owner "$MASKLET_PG_BIN/initdb" -D "$MASKLET_PG_DIR/data" -U masklet -A trust -E UTF8 \
            --locale=C --no-sync >"$MASKLET_PG_DIR/initdb.log" 2>&1; then
        _masklet_pg_warn "initdb failed: $(tail -n 3 "$MASKLET_PG_DIR/initdb.log" | tr '\n' ' ')"
        masklet_pg_stop
        return 1
    fi
    # fsync off: nothing here outlives the run (the tests restart the app, not the database)
    if ! _masklet_pg_as_owner "$MASKLET_PG_BIN/pg_ctl" -D "$MASKLET_PG_DIR/data" -l "$MASKLET_PG_DIR/server.log" -w -t 60 \
            -o "-c listen_addresses=127.0.0.1 -p $port -k $MASKLET_PG_DIR -c fsync=off -c max_connections=100" \
            start >/dev/null; then
        _masklet_pg_warn "the PostgreSQL server did not start: $(tail -n 3 "$MASKLET_PG_DIR/server.log" 2>/dev/null | tr '\n' ' ')"
        masklet_pg_stop
        return 1
    fi
    if ! _masklet_pg_as_owner "$MASKLET_PG_BIN/psql" -X -q -h 127.0.0.1 -p "$port" -U masklet -d postgres \
            -v ON_ERROR_STOP=1 -c "CREATE DATABASE masklet_test" >/dev/null; then
        _masklet_pg_warn "could not create the test database"
        masklet_pg_stop
        return 1
    fi
    export MASKLET_TEST_POSTGRES_URL="postgresql+psycopg://masklet@127.0.0.1:$port/masklet_test"
    echo "ci: PostgreSQL $("$MASKLET_PG_BIN/postgres" -V | awk '{print $3}') on 127.0.0.1:$port" \
        "(MASKLET_TEST_POSTGRES_URL=$MASKLET_TEST_POSTGRES_URL)" >&2
}

masklet_pg_stop() {
    if [ -n "$MASKLET_PG_DIR" ] && [ -d "$MASKLET_PG_DIR" ]; then
        if [ -f "$MASKLET_PG_DIR/data/postmaster.pid" ]; then
            _masklet_pg_as_owner "$MASKLET_PG_BIN/pg_ctl" -D "$MASKLET_PG_DIR/data" -m immediate -w stop >/dev/null 2>&1 \
                || echo "ci: could not stop the PostgreSQL server in $MASKLET_PG_DIR" >&2
        fi
        rm -rf "$MASKLET_PG_DIR"
    fi
    MASKLET_PG_DIR=""
    unset MASKLET_TEST_POSTGRES_URL
}

# Run alone: start, run the arguments (or a check), stop.
if [ "${BASH_SOURCE[0]}" = "$0" ]; then
    set -uo pipefail
    trap masklet_pg_stop EXIT
    masklet_pg_start || exit 1
    if [ "$#" -gt 0 ]; then
        "$@"
    else
        _masklet_pg_as_owner "$MASKLET_PG_BIN/psql" -X -At -d "${MASKLET_TEST_POSTGRES_URL/+psycopg/}" \
            -c "SELECT 'ok: ' || version()"
    fi
fi
