#!/usr/bin/env bash
# Issue 15 item 12 (run from anywhere; BIN defaults to target/release/accord of this checkout): fan-out on a 3-node cluster (45,000 sessions) and the cross-node overhead
# against one node on the same Cassandra, in one run.
set -u
cd "$(dirname "${BASH_SOURCE[0]}")/../../.."
BIN=${BIN:-$PWD/target/release/accord}
OUT=${OUT:-/tmp/bench45k}; mkdir -p $OUT
ulimit -n 20000
export ACCORD_CLUSTER_DIR=/tmp/bench-cluster NATS_PORT=14522 ACCORD_BIN=$BIN
export CASSANDRA_NATIVE_PORT=19542 CASSANDRA_STORAGE_PORT=17500
scripts/cluster up 3 > $OUT/up.txt 2>&1 || { cat $OUT/up.txt; exit 1; }
source $ACCORD_CLUSTER_DIR/cassandra.env
reg() { curl -s http://127.0.0.1:$1/api/v10/auth/register -H 'content-type: application/json' \
  -d "{\"username\":\"$2\",\"email\":\"$2@example.com\",\"password\":\"bench admin password\",\"date_of_birth\":\"2000-01-01\",\"consent\":true}" | python3 -c 'import sys,json;print(json.load(sys.stdin)["token"])'; }
TOKEN=$(reg 3001 benchadmin)
$BIN admin grant benchadmin@example.com --database scylla --scylla-nodes $ACCORD_SCYLLA_NODES
# Restart the nodes so they read the admin flag.
for k in 1 2 3; do kill $(cat $ACCORD_CLUSTER_DIR/n$k.pid); done; sleep 5
scripts/cluster up 3 >> $OUT/up.txt 2>&1 || { cat $OUT/up.txt; exit 1; }
sleep 5
P1=$(cat $ACCORD_CLUSTER_DIR/n1.pid); P2=$(cat $ACCORD_CLUSTER_DIR/n2.pid); P3=$(cat $ACCORD_CLUSTER_DIR/n3.pid)
# One standalone node on the same Cassandra (its own keyspace): the single-node figure.
ACCORD_SECRET=$(cat $ACCORD_CLUSTER_DIR/secret) $BIN serve --listen 127.0.0.1:3011 --database scylla \
  --scylla-nodes $ACCORD_SCYLLA_NODES --scylla-keyspace accord_single > $OUT/single.log 2>&1 &
S=$!; sleep 8
TS=$(reg 3011 benchadmin)
kill $S; wait $S
$BIN admin grant benchadmin@example.com --database scylla --scylla-nodes $ACCORD_SCYLLA_NODES --scylla-keyspace accord_single
ACCORD_SECRET=$(cat $ACCORD_CLUSTER_DIR/secret) $BIN serve --listen 127.0.0.1:3011 --database scylla \
  --scylla-nodes $ACCORD_SCYLLA_NODES --scylla-keyspace accord_single >> $OUT/single.log 2>&1 &
S=$!; sleep 8
L="$BIN loadgen --out $OUT --after-secs 10 --connect-rate 400 --setup-concurrency 32"
F="fanout -m 1 --duration 20 --messages 20 --drain 30"
N=${N:-15000}
$L --admin-token $TS --url http://127.0.0.1:3011 --server-pid $S --label single-$N $F -n $N > $OUT/single-$N.txt 2>&1
kill $S; wait $S
$L --admin-token $TOKEN --url http://127.0.0.1:3001,http://127.0.0.1:3002,http://127.0.0.1:3003 --server-pid $P1,$P2,$P3 --label cluster3-$N $F -n $N > $OUT/cluster3-$N.txt 2>&1
$L --admin-token $TOKEN --url http://127.0.0.1:3001,http://127.0.0.1:3002,http://127.0.0.1:3003 --server-pid $P1,$P2,$P3 --label cluster3-$((N*3)) $F -n $((N*3)) > $OUT/cluster3-$((N*3)).txt 2>&1
for k in 1 2 3; do echo "n$k log_bytes $(stat -c %s $ACCORD_CLUSTER_DIR/n$k.log)"; done >> $OUT/logs.txt
cp $ACCORD_CLUSTER_DIR/n*.log $OUT/ 2>/dev/null
scripts/cluster down
echo done
