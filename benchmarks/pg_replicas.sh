#!/usr/bin/env bash
# PostgreSQL replicas for BENCHMARKS.md ("PostgreSQL replicas"), each beside its SQLite reference
# where there is one: durable enrollments with 1 and 4 clients, start-up with FACES faces, change
# propagation between two replicas at 20 enrollments/s, identify on one replica vs two.
# usage (as root, from anywhere): benchmarks/pg_replicas.sh BINARY [FACES] [SECONDS] [STEPS]
#   STEPS: any of "enroll load propagation identify" (default all); images from benchmarks/prepare_images.py.
# A throwaway PostgreSQL 15 cluster (fsync on) runs as the `postgres` user on 127.0.0.1:55432 and
# is removed at the end.
set -eu
BIN=$(readlink -f $1); FACES=${2:-1000000}; SECS=${3:-60}; STEPS=${4:-enroll load propagation identify}
PG=/usr/lib/postgresql/15/bin; PORT=55432; B=/tmp/netra-bench-images
W=$(mktemp -d /tmp/pgbench-XXXX); chown postgres $W
export NETRA_DATA_PASSWORD=$(head -c 18 /dev/urandom | base64) NETRA_SECRET_KEY="base64:$(head -c 32 /dev/urandom | base64)"
URL="postgres://netra@127.0.0.1:$PORT/bench?sslmode=disable"
echo "$NETRA_DATA_PASSWORD" > $W/pw; chown postgres $W/pw
runuser -u postgres -- $PG/initdb -D $W/data -U netra --auth=scram-sha-256 --pwfile=$W/pw -E UTF8 --locale=C > /dev/null
runuser -u postgres -- $PG/pg_ctl -D $W/data -l $W/log -o "-p $PORT -k $W -c listen_addresses=127.0.0.1" -w start > /dev/null
cleanup() {
    jobs -p | xargs -r kill 2> /dev/null || true
    runuser -u postgres -- $PG/pg_ctl -D $W/data -m fast -w stop > /dev/null
    rm -rf $W
}
trap cleanup EXIT
sql() { PGOPTIONS="-c client_min_messages=warning" PGPASSWORD=$NETRA_DATA_PASSWORD psql -h 127.0.0.1 -p $PORT -U netra -qAt "$@"; }
fresh() { sql -d postgres -c 'DROP DATABASE IF EXISTS bench WITH (FORCE)' -c 'CREATE DATABASE bench'; }
cd "$(dirname "$0")/.."
step() { [[ " $STEPS " == *" $1 "* ]]; }

if step enroll; then
    # The disk's floor: how many fsync'd WAL writes per second one writer gets.
    runuser -u postgres -- $PG/pg_test_fsync -s 1 -f $W/fsync.test 2> /dev/null | grep -m1 -E "^ +fdatasync +[0-9]"
    for clients in 1 4 1 4; do
        $BIN bench enroll --n 2000 --clients $clients
        fresh; $BIN bench enroll --n 2000 --clients $clients --url $URL
    done
fi

if step load; then
    # Each store written, then opened again by a fresh process (--n 0): start-up as `netra serve` has it.
    mkdir $W/sqlite
    $BIN bench load --n $FACES --db $W/sqlite/bench.db; $BIN bench load --n 0 --db $W/sqlite/bench.db | tail -1
    fresh; $BIN bench load --n $FACES --url $URL; $BIN bench load --n 0 --url $URL | tail -1
    # The same rows the open streams, through psql in binary COPY, without decrypting: the server's and the socket's share.
    TIMEFORMAT="raw row streaming (psql COPY binary to /dev/null): %R s"
    time sql -d bench -c "COPY (SELECT f.id, f.subject_id,
        f.model_version, f.key_id, f.nonce, f.ciphertext, f.tag, s.collection_id FROM faces f JOIN subjects s ON s.id = f.subject_id
        ORDER BY s.collection_id, f.id) TO STDOUT (FORMAT binary)" > /dev/null
    sql -d bench -c "SELECT 'database size: ' || pg_size_pretty(pg_database_size('bench'))"
fi

if step propagation; then
    fresh; $BIN bench propagation --url $URL --rate 20 --seconds $SECS
fi

if step identify; then
    export NETRA_DATA_URL=$URL NETRA_MODEL_DETECTOR=yunet NETRA_MODEL_DIR=models NETRA_APP_REQUIRE_API_KEY=false
    export OMP_WAIT_POLICY=PASSIVE NETRA_APP_RATE_LIMIT_PER_SECOND=1000 NETRA_APP_RATE_LIMIT_BURST=1000
    fresh; $BIN bench load --n 10000 --url $URL | tail -1
    for port in 8765 8766; do
        $BIN serve --port $port > $W/serve$port.log 2>&1 &
    done
    for port in 8765 8766; do
        for i in $(seq 120); do curl -sf http://127.0.0.1:$port/ready > /dev/null && break; sleep 1; done
        curl -s http://127.0.0.1:$port/api/v1/info; echo
    done
    # Rotated rounds, 4 connections in all: every one to replica A, then 2 to each.
    for round in 1 2; do
        python3 benchmarks/load_test.py /api/v1/identify --port 8765 --image image=$B/fr_two_people_640x480.jpg \
            --connections 4 --seconds $SECS
        python3 benchmarks/load_test.py /api/v1/identify --port 8765 --port 8766 --image image=$B/fr_two_people_640x480.jpg \
            --connections 4 --seconds $SECS
    done
fi
