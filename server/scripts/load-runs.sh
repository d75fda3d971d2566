#!/usr/bin/env bash
# Runs each load tool against a fresh kestrel-server, and put-many against memcached (when it is
# installed: `apt-get install memcached`) on the same machine, and writes what they print to
# server/results/<date>-load.txt. Build first: mvn -B -DskipTests package -pl server -am
# Takes about two minutes. Numbers depend on the machine and what else runs on it.
set -euo pipefail
cd "$(dirname "$0")/../.."
jar=server/target/kestrel-server.jar
[ -f "$jar" ] || { echo "build first: mvn -B -DskipTests package -pl server -am"; exit 2; }
mkdir -p server/results
out=server/results/$(date -u +%Y-%m-%d)-load.txt
data=$(mktemp -d)
port=22233
text=2322
mport=11311
server=""
mc=""
cleanup() {
  [ -n "$server" ] && kill "$server" 2>/dev/null && wait "$server" 2>/dev/null || true
  [ -n "$mc" ] && kill "$mc" 2>/dev/null || true
  rm -rf "$data"
}
trap cleanup EXIT

wait_port() {
  for _ in $(seq 1 100); do (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0; sleep 0.2; done
  echo "nothing listens on port $1"; return 1
}

run() {
  echo; echo "\$ $*"
  "$@" 2>&1 | grep -v " after [0-9]* s$"
}

{
  echo "# load tools, $(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores, $(java -version 2>&1 | head -1)"
  echo "# git $(git rev-parse --short HEAD 2>/dev/null || echo '?'); load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
  echo "# kestrel-server with its defaults (syncJournal every 1s), data on $(df -T "$data" | awk 'NR==2{print $2}')"
} | tee "$out"

java -jar "$jar" --data "$data" --memcache-port $port --text-port $text >"$data.log" 2>&1 &
server=$!
wait_port $port
{
  run java -jar "$jar" load put-many -p $port -n 100000
  run java -jar "$jar" load put-many -p $port -n 100000 -g
  run java -jar "$jar" load put-many -p $port -n 100000 -r 10 -Q 10
  run java -jar "$jar" load flood -p $port
  run java -jar "$jar" load flood -p $port -n 100000 -R 4 -C 4 -B
  run java -jar "$jar" load many-clients -p $port
  run java -jar "$jar" load packing -p $port
} | tee -a "$out"
printf 'shutdown\r\n' >"/dev/tcp/127.0.0.1/$port" || true
wait "$server" && server=""

if command -v memcached >/dev/null; then
  memcached -u "$(id -un)" -l 127.0.0.1 -p $mport -U 0 -t 2 -m 2048 &
  mc=$!
  wait_port $mport
  {
    echo; echo "# memcached $(memcached -V | cut -d' ' -f2) (-t 2 -m 2048) on the same machine: sets only (a get of"
    echo "# memcached returns the last value of the key, not a queue, so -g does not apply)"
    run java -jar "$jar" load put-many -p $mport -F -n 100000
    run java -jar "$jar" load put-many -p $mport -F -n 100000 -r 10 -Q 10
  } | tee -a "$out"
else
  echo "# memcached is not installed: apt-get install memcached" | tee -a "$out"
fi
echo; echo "written to $out"
