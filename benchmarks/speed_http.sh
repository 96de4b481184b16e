#!/usr/bin/env bash
# Verify and identify under load for BENCHMARKS.md ("Speed"): a fresh store, then a 100k-face gallery.
# usage: benchmarks/speed_http.sh BINARY DETECTOR SECONDS TAG   (images from benchmarks/prepare_images.py)
set -u
BIN=$(readlink -f $1); DET=$2; SECS=$3; TAG=$4
B=/tmp/netra-bench-images
W=/tmp/hb-$TAG; rm -rf $W; mkdir -p $W/db $W/gallery
export NETRA_SECRET_KEY="base64:$(head -c 32 /dev/urandom | base64)"
export NETRA_MODEL_DETECTOR=$DET NETRA_MODEL_DIR=models NETRA_APP_REQUIRE_API_KEY=false
export OMP_WAIT_POLICY=PASSIVE NETRA_APP_RATE_LIMIT_PER_SECOND=1000 NETRA_APP_RATE_LIMIT_BURST=1000
cd "$(dirname "$0")/.."
$BIN serve --port 8765 --db $W/db/netra.db > $W/serve1.log 2>&1 &
P=$!
for i in $(seq 60); do curl -sf http://127.0.0.1:8765/ready >/dev/null && break; sleep 1; done
curl -s http://127.0.0.1:8765/api/v1/info; echo
python3 benchmarks/load_test.py /api/v1/verify --port 8765 --image image1=$B/fr_obama_and_biden_640x480.jpg --image image2=$B/fr_two_people_640x480.jpg --connections 2 --seconds $SECS
kill $P; wait $P
$BIN bench load --n 100000 --db $W/gallery/netra.db | tail -3
$BIN serve --port 8766 --db $W/gallery/netra.db > $W/serve2.log 2>&1 &
P=$!
for i in $(seq 120); do curl -sf http://127.0.0.1:8766/ready >/dev/null && break; sleep 1; done
curl -s http://127.0.0.1:8766/api/v1/info; echo
python3 benchmarks/load_test.py /api/v1/identify --port 8766 --image image=$B/fr_two_people_640x480.jpg --connections 2 --seconds $SECS
curl -s http://127.0.0.1:8766/metrics | grep -E "^netra_(detect|embed|search)_duration_seconds_(sum|count)" | head
kill $P; wait $P
grep -m2 "models:" $W/serve1.log $W/serve2.log
