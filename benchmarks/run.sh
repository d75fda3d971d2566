#!/usr/bin/env bash
# Runs the JMH benchmarks and the handoff-latency test, and writes the results under
# benchmarks/results/:
#   <date>-<mode>.json           JMH results (-rf json)
#   <date>-<mode>-latency.jsonl  HandoffLatency, one JSON object per run
#   <date>-<mode>-env.json       date, JDK, CPU model, cores, load, the settings used
#   <date>-<mode>.md             the table, generated from the three files by table.py
# The console output goes to benchmarks/target/<date>-<mode>.log.
#
# Usage: benchmarks/run.sh quick|full [extra JMH options, e.g. a benchmark regex]
#   quick  64-byte items, the peers the targets need, 1 fork, 1 x 2 s warm-up, 2 x 1 s measurement,
#          -prof gc; latency 2 s + 5 s per run: 7-10 minutes on 2 cores. INDICATIVE numbers only.
#   full   64 B, 1 KiB and 64 KiB items, every peer, 2 forks, 3 x 2 s warm-up, 5 x 2 s measurement,
#          -prof gc; reopen 1 + 5 shots; latency 10 s + 60 s per run: about 2 hours on 2 cores.
# Builds benchmarks/target/benchmarks.jar first if it is missing (set JAVA_HOME to choose the JDK).
# The wall time recorded (wallSeconds) runs from the start to the last latency run.
set -euo pipefail

mode=${1:-}
shift || true
here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
jar=$here/target/benchmarks.jar
java=${JAVA_HOME:+$JAVA_HOME/bin/}java

# Each pass is one JMH invocation: a benchmark regex and its options. The quick run keeps 64-byte
# items and the peers that the targets need (the SPSC pass warms up longer: Chronicle Queue needs
# about 4 s to reach its speed). 32 producer threads run only under always() here: under never() and
# every(10 ms), JMH's iteration synchronisation of 32 threads on 2 cores lets them build a backlog of
# gigabytes outside the measurement, and a fork takes a minute or more. The full run runs every
# benchmark with every parameter, except 32 threads putting 64 KiB items without forcing (tens of
# gigabytes of backlog per iteration).
case "$mode" in
  quick)
    jmh=(-f 1 -p size=64)
    t="-wi 1 -w 2s -i 2 -r 1s"
    passes=(
      "SpscRoundTripBenchmark -wi 2 -w 2s -i 2 -r 1s -p impl=kestrel-never,kestrel-always,chronicle,tape,baseline-ring,jctools-spsc"
      "MpmcRoundTripBenchmark $t -p impl=kestrel-never,jctools-mpmc"
      "GroupCommitBenchmark.put1Thread $t"
      "GroupCommitBenchmark.put8Threads $t -p impl=kestrel-never,kestrel-every10ms,kestrel-always"
      "GroupCommitBenchmark.put32Threads $t -p impl=kestrel-always"
      "BatchBenchmark $t -p impl=kestrel-never,kestrel-always"
      "PutPollBenchmark $t"
      "ReopenBenchmark -wi 1 -i 3"
    )
    latency_impls=(kestrel-never baseline-ring)
    latency_rates=(1000000 100000)
    latency_time=(--warmup 2 --seconds 5)
    ;;
  full)
    jmh=(-f 2)
    t="-wi 3 -w 2s -i 5 -r 2s"
    passes=(
      "dev.kestrel.benchmarks.(?!Reopen|GroupCommitBenchmark.put32) $t"
      "GroupCommitBenchmark.put32Threads $t -p size=64,1024"
      "GroupCommitBenchmark.put32Threads $t -p size=65536 -p impl=kestrel-always,tape"
      "ReopenBenchmark -wi 1 -i 5"
    )
    latency_impls=(kestrel-never kestrel-every10ms baseline-ring chronicle)
    latency_rates=(1000000 100000)
    latency_time=(--warmup 10 --seconds 60)
    ;;
  *)
    echo "usage: $0 quick|full [extra JMH options]" >&2
    exit 2
    ;;
esac

started=$(date +%s)

# The flags the JMH forks carry (@Fork in ForkedBenchmark), for the HandoffLatency JVMs too;
# the build fills this file in from the poms.
flags_file=$here/target/classes/kestrel-jvm.flags
if [[ ! -f "$jar" || ! -f "$flags_file" ]]; then
  (cd "$root" && mvn -B -q -DskipTests -pl benchmarks -am package)
fi
read -r -a flags < "$flags_file"

mkdir -p "$here/results" "$here/target"
stem=$here/results/$(date -u +%Y-%m-%d)-$mode
log=$here/target/$(basename "$stem").log
: > "$log"
rm -f "$stem.json" "$stem-latency.jsonl" "$stem-env.json" "$stem.md"

loadavg() { cut -d' ' -f1-3 /proc/loadavg; }

# Environment, first part (the rest is added when the run ends).
load_before=$(loadavg)
java_version=$("$java" -version 2>&1 | tr '\n' ' ' | sed 's/ *$//')
cpu=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')

parts=()
for i in "${!passes[@]}"; do
  read -r -a pass <<< "${passes[$i]}"
  part=$here/target/$(basename "$stem")-part$i.json
  rm -f "$part"
  echo "== $(date +%T) JMH ($mode) ${passes[$i]}" | tee -a "$log"
  if ! "$java" -jar "$jar" "${jmh[@]}" -prof gc -rf json -rff "$part" "${pass[@]}" "$@" 2>&1 | tee -a "$log"; then
    echo "== pass $i exited non-zero; keeping what it wrote" | tee -a "$log"
  fi
  if [[ -s "$part" ]]; then
    parts+=("$part")
  fi
done
python3 -c 'import json,sys; json.dump([r for p in sys.argv[2:] for r in json.load(open(p))], open(sys.argv[1], "w"), indent=2)' \
    "$stem.json" "${parts[@]}"

echo "== $(date +%T) handoff latency ($mode)" | tee -a "$log"
for rate in "${latency_rates[@]}"; do
  for impl in "${latency_impls[@]}"; do
    if ! "$java" "${flags[@]}" -cp "$jar" dev.kestrel.benchmarks.HandoffLatency \
        --impl "$impl" --rate "$rate" --size 64 "${latency_time[@]}" --out "$stem-latency.jsonl" \
        2>&1 | cut -c1-400 | tee -a "$log"; then
      echo "== latency run $impl at $rate/s failed" | tee -a "$log"
    fi
  done
done

finished=$(date +%s)
E_DATE=$(date -u -d "@$started" +%Y-%m-%dT%H:%M:%SZ) E_MODE=$mode E_WALL=$((finished - started)) \
E_JAVA=$java_version E_CPU=$cpu E_CORES=$(nproc) E_MEM=$(grep MemTotal /proc/meminfo | tr -s ' ' | cut -d' ' -f2-) \
E_KERNEL=$(uname -r) E_FS=$(df -T "${TMPDIR:-/tmp}" | awk 'NR==2 {print $2}') \
E_LOAD_BEFORE=$load_before E_LOAD_AFTER=$(loadavg) \
E_JMH="${jmh[*]} -prof gc $*; passes: $(IFS='|'; echo "${passes[*]}")" \
E_LATENCY="impls=${latency_impls[*]} rates=${latency_rates[*]} ${latency_time[*]} size=64" \
E_COMMIT=$(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo unknown) \
python3 - "$stem-env.json" <<'PY'
import json, os, sys
e = os.environ
env = {
    "date": e["E_DATE"], "mode": e["E_MODE"], "indicative": e["E_MODE"] == "quick",
    "wallSeconds": int(e["E_WALL"]), "java": e["E_JAVA"], "cpuModel": e["E_CPU"], "cores": int(e["E_CORES"]),
    "memTotal": e["E_MEM"], "kernel": e["E_KERNEL"], "filesystem": e["E_FS"],
    "loadAverageBefore": e["E_LOAD_BEFORE"], "loadAverageAfter": e["E_LOAD_AFTER"],
    "jmhOptions": e["E_JMH"], "latencyOptions": e["E_LATENCY"], "commit": e["E_COMMIT"],
}
with open(sys.argv[1], "w") as f:
    json.dump(env, f, indent=2)
PY

python3 "$here/table.py" "$stem.json" | tee -a "$log"
echo "== done in $((finished - started)) s: $stem.{json,md}, $stem-latency.jsonl, $stem-env.json" | tee -a "$log"
