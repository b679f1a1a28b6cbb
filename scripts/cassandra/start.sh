#!/usr/bin/env bash
# Starts a throwaway single-node Apache Cassandra for the Scylla store's tests.
#
#   eval "$(scripts/cassandra/start.sh)"    # exports ACCORD_SCYLLA_NODES and CASSANDRA_DIR
#   ...
#   scripts/cassandra/stop.sh               # uses $CASSANDRA_DIR
#
# Only Maven Central and the machine's JDK 17 are needed: the server jars are fetched once with
# `mvn dependency:copy-dependencies` (see pom.xml) and cached under
# ${XDG_CACHE_HOME:-$HOME/.cache}/accord/cassandra-<version>/lib.
#
# Environment (all optional):
#   CASSANDRA_VERSION       default 5.0.8
#   CASSANDRA_DIR           working dir (config, data, log, pid); default: a new `mktemp -d`
#   CASSANDRA_NATIVE_PORT   CQL port, default 9042
#   CASSANDRA_STORAGE_PORT  inter-node port, default 7000 (SSL port = this + 1)
#   CASSANDRA_HEAP          max heap, default 2g (1g ran out after about 30 test keyspaces)
#   CASSANDRA_START_TIMEOUT seconds to wait for the CQL port, default 180
#   JAVA                    java binary, default: $JAVA_HOME/bin/java or `java`
#
# stdout carries only the two `export` lines; progress goes to stderr.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
VERSION="${CASSANDRA_VERSION:-5.0.8}"
NATIVE_PORT="${CASSANDRA_NATIVE_PORT:-9042}"
STORAGE_PORT="${CASSANDRA_STORAGE_PORT:-7000}"
SSL_STORAGE_PORT="$((STORAGE_PORT + 1))"
HEAP="${CASSANDRA_HEAP:-2g}"
TIMEOUT="${CASSANDRA_START_TIMEOUT:-180}"
CACHE="${XDG_CACHE_HOME:-$HOME/.cache}/accord/cassandra-$VERSION"
LIB="$CACHE/lib"
if [[ -n "${JAVA:-}" ]]; then :
elif [[ -n "${JAVA_HOME:-}" && -x "$JAVA_HOME/bin/java" ]]; then JAVA="$JAVA_HOME/bin/java"
else JAVA=java
fi

log() { echo "cassandra: $*" >&2; }

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

if port_open "$NATIVE_PORT"; then
  log "port $NATIVE_PORT is already in use (another Cassandra?); set CASSANDRA_NATIVE_PORT or stop it"
  exit 1
fi

# --- 1. jars (once)
if [[ ! -f "$LIB/cassandra-all-$VERSION.jar" ]]; then
  command -v mvn >/dev/null || { log "mvn not found (apt-get install maven)"; exit 1; }
  log "fetching cassandra-all $VERSION and its dependencies from Maven Central into $LIB"
  t0=$SECONDS
  rm -rf "$LIB.tmp"
  mkdir -p "$CACHE"
  if ! mvn -q -B -Dstyle.color=never -f "$HERE/pom.xml" -Dcassandra.version="$VERSION" dependency:copy-dependencies \
      -DincludeScope=runtime -DoutputDirectory="$LIB.tmp" >&2; then
    log "maven could not fetch cassandra-all $VERSION"
    exit 1
  fi
  rm -rf "$LIB"
  mv "$LIB.tmp" "$LIB"
  log "fetched $(find "$LIB" -name '*.jar' | wc -l) jars in $((SECONDS - t0)) s"
fi

# --- 2. config
if [[ -z "${CASSANDRA_DIR:-}" ]]; then
  CASSANDRA_DIR="$(mktemp -d "${TMPDIR:-/tmp}/accord-cassandra.XXXXXX")"
fi
mkdir -p "$CASSANDRA_DIR"/{conf,data,commitlog,saved_caches,hints,cdc_raw,triggers}
CASSANDRA_DIR="$(cd "$CASSANDRA_DIR" && pwd)"
if [[ -f "$CASSANDRA_DIR/pid" ]] && kill -0 "$(cat "$CASSANDRA_DIR/pid")" 2>/dev/null; then
  log "a Cassandra from $CASSANDRA_DIR is already running (pid $(cat "$CASSANDRA_DIR/pid"))"
  exit 1
fi
sed -e "s|@DIR@|$CASSANDRA_DIR|g" \
    -e "s|@NATIVE_PORT@|$NATIVE_PORT|g" \
    -e "s|@STORAGE_PORT@|$STORAGE_PORT|g" \
    -e "s|@SSL_STORAGE_PORT@|$SSL_STORAGE_PORT|g" \
    "$HERE/cassandra.yaml.in" >"$CASSANDRA_DIR/conf/cassandra.yaml"
cp "$HERE/logback.xml" "$CASSANDRA_DIR/conf/logback.xml"
LOG="$CASSANDRA_DIR/cassandra.log"
: >"$LOG"

# --- 3. start
# JPMS flags: the union of Cassandra 5.0's conf/jvm17-server.options and jvm11-server.options.
JPMS=(
  -Djdk.attach.allowAttachSelf=true
  --add-exports java.base/jdk.internal.misc=ALL-UNNAMED
  --add-exports java.base/jdk.internal.ref=ALL-UNNAMED
  --add-exports java.base/sun.nio.ch=ALL-UNNAMED
  --add-exports java.management.rmi/com.sun.jmx.remote.internal.rmi=ALL-UNNAMED
  --add-exports java.rmi/sun.rmi.registry=ALL-UNNAMED
  --add-exports java.rmi/sun.rmi.server=ALL-UNNAMED
  --add-exports java.sql/java.sql=ALL-UNNAMED
  --add-exports java.base/java.lang.ref=ALL-UNNAMED
  --add-exports jdk.unsupported/sun.misc=ALL-UNNAMED
  --add-exports jdk.compiler/com.sun.tools.javac.file=ALL-UNNAMED
  --add-exports jdk.attach/sun.tools.attach=ALL-UNNAMED
  --add-opens java.base/java.lang.module=ALL-UNNAMED
  --add-opens java.base/jdk.internal.loader=ALL-UNNAMED
  --add-opens java.base/jdk.internal.ref=ALL-UNNAMED
  --add-opens java.base/jdk.internal.reflect=ALL-UNNAMED
  --add-opens java.base/jdk.internal.math=ALL-UNNAMED
  --add-opens java.base/jdk.internal.module=ALL-UNNAMED
  --add-opens java.base/jdk.internal.util.jar=ALL-UNNAMED
  --add-opens jdk.management/com.sun.management.internal=ALL-UNNAMED
  --add-opens java.base/sun.nio.ch=ALL-UNNAMED
  --add-opens java.base/java.io=ALL-UNNAMED
  --add-opens java.base/java.nio=ALL-UNNAMED
  --add-opens java.base/java.lang.reflect=ALL-UNNAMED
  --add-opens jdk.compiler/com.sun.tools.javac=ALL-UNNAMED
  --add-opens java.base/java.lang=ALL-UNNAMED
  --add-opens java.base/java.util=ALL-UNNAMED
  --add-opens java.base/java.util.concurrent=ALL-UNNAMED
  --add-opens java.base/java.util.concurrent.atomic=ALL-UNNAMED
  --add-opens java.base/java.math=ALL-UNNAMED
  --add-opens java.base/java.net=ALL-UNNAMED
)
JAMM="$(find "$LIB" -name 'jamm-*.jar' | head -n1)"
OPTS=(
  -Xms256m "-Xmx$HEAP" -Xss512k
  -XX:+UseG1GC -XX:+ParallelRefProcEnabled -XX:MaxTenuringThreshold=1
  -XX:TieredStopAtLevel=1 -XX:+ExitOnOutOfMemoryError
  -XX:+HeapDumpOnOutOfMemoryError "-XX:HeapDumpPath=$CASSANDRA_DIR"
  "-XX:ErrorFile=$CASSANDRA_DIR/hs_err_%p.log"
  -Djava.net.preferIPv4Stack=true
  -Dio.netty.tryReflectionSetAccessible=true
  -Dio.netty.allocator.useCacheForAllThreads=true
  -Dio.netty.allocator.maxOrder=11
  "-Dcassandra.config=file://$CASSANDRA_DIR/conf/cassandra.yaml"
  "-Dlogback.configurationFile=file://$CASSANDRA_DIR/conf/logback.xml"
  "-Dcassandra.logdir=$CASSANDRA_DIR"
  "-Dcassandra.storagedir=$CASSANDRA_DIR/data"
  "-Dcassandra.triggers_dir=$CASSANDRA_DIR/triggers"
  -Dcassandra-foreground=no
  # Fast start for a single throwaway node.
  -Dcassandra.skip_wait_for_gossip_to_settle=0
  -Dcassandra.ring_delay_ms=100
  -Dcassandra.superuser_setup_delay_ms=0
  -Dcassandra.unsafesystem=true
  -Dcassandra.auto_bootstrap=false
  -Dcassandra.join_ring=true
  -Dcassandra.start_gossip=true
  -Dcassandra.migration_task_wait_in_seconds=1
  -Dcassandra.max_local_pause_in_ms=60000
)
[[ -n "$JAMM" ]] && OPTS+=("-javaagent:$JAMM")

log "starting Cassandra $VERSION in $CASSANDRA_DIR (CQL port $NATIVE_PORT)"
t0=$SECONDS
# setsid + nohup: the node outlives this script and the shell that eval'd it.
nohup setsid "$JAVA" "${JPMS[@]}" "${OPTS[@]}" -cp "$CASSANDRA_DIR/conf:$LIB/*" \
  org.apache.cassandra.service.CassandraDaemon >"$CASSANDRA_DIR/stdout.log" 2>&1 </dev/null &
PID=$!
echo "$PID" >"$CASSANDRA_DIR/pid"

fail() {
  log "$1"
  log "--- tail of $LOG"
  tail -n 60 "$LOG" >&2 || true
  log "--- tail of $CASSANDRA_DIR/stdout.log"
  tail -n 20 "$CASSANDRA_DIR/stdout.log" >&2 || true
  kill "$PID" 2>/dev/null || true
  exit 1
}

# --- 4. wait for the CQL port
while ! port_open "$NATIVE_PORT"; do
  kill -0 "$PID" 2>/dev/null || fail "Cassandra exited during startup"
  ((SECONDS - t0 < TIMEOUT)) || fail "Cassandra did not open port $NATIVE_PORT within $TIMEOUT s"
  sleep 1
done
log "ready in $((SECONDS - t0)) s (pid $PID, log $LOG)"

echo "export ACCORD_SCYLLA_NODES=127.0.0.1:$NATIVE_PORT"
echo "export CASSANDRA_DIR=$CASSANDRA_DIR"
