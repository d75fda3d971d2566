#!/usr/bin/env python3
"""Makes the README benchmark table (markdown) from one run's result files.

Usage: python3 benchmarks/table.py benchmarks/results/<date>-<mode>.json [--readme README.md]

With --readme, the generated markdown also replaces what stands between the lines
"<!-- benchmarks:begin -->" and "<!-- benchmarks:end -->" in that file (headings one level down).

Reads the JMH results (<stem>.json), the handoff-latency runs (<stem>-latency.jsonl) and the
environment (<stem>-env.json) written by run.sh, prints the markdown and writes it to <stem>.md.
Every number in it comes from those files; ratios are computed here, within the one run.
"""
import json
import math
import os
import sys

PKG = "dev.kestrel.benchmarks."
KESTREL = ["kestrel-never", "kestrel-every10ms", "kestrel-always"]
POLICY = {"kestrel-never": "never()", "kestrel-every10ms": "every(10 ms)", "kestrel-always": "always()"}
# Shallow size of the reliable-read handle (dev.kestrel.internal.queue.Lease) on a 64-bit JVM with
# compressed references: 12-byte header + queue 4 + origin 8 + length 4 + openedAtNanos 8 + slot 4
# + location 8 + data 4 + state 4 = 56 bytes. Open+confirm should allocate this and nothing else.
HANDLE_BYTES = 56


def load(stem):
    with open(stem + ".json") as f:
        jmh = json.load(f)
    latency = []
    if os.path.exists(stem + "-latency.jsonl"):
        with open(stem + "-latency.jsonl") as f:
            latency = [json.loads(line) for line in f if line.strip()]
    env = {}
    if os.path.exists(stem + "-env.json"):
        with open(stem + "-env.json") as f:
            env = json.load(f)
    return jmh, latency, env


class Results:
    """JMH results by (benchmark without package, frozen params)."""

    def __init__(self, jmh):
        self.rows = {}
        for r in jmh:
            name = r["benchmark"].replace(PKG, "")
            key = (name, tuple(sorted(r.get("params", {}).items())))
            self.rows[key] = r

    def get(self, name, **params):
        want = {k: str(v) for k, v in params.items()}
        for (n, p), r in self.rows.items():
            if n == name and all(dict(p).get(k) == v for k, v in want.items()):
                return r
        return None

    def sizes(self, name):
        return sorted({int(dict(p)["size"]) for (n, p) in self.rows if n == name and "size" in dict(p)})

    def metric(self, name, metric=None, **params):
        """(score, error) of the primary metric, or of a secondary one; None if absent."""
        r = self.get(name, **params)
        if r is None:
            return None
        m = r["primaryMetric"] if metric is None else r.get("secondaryMetrics", {}).get(metric)
        if m is None:
            return None
        err = m.get("scoreError")
        err = None if err in (None, "NaN") or (isinstance(err, float) and math.isnan(err)) else err
        return m["score"], err, m

    def score(self, name, metric=None, **params):
        m = self.metric(name, metric, **params)
        return None if m is None else m[0]


def rate(x):
    if x is None:
        return "–"
    for unit, div in (("G/s", 1e9), ("M/s", 1e6), ("k/s", 1e3), ("/s", 1)):
        if x >= div * 0.9995:  # 999,999.6 is "1 M/s", not "1e+03 k/s"
            return f"{x / div:.3g} {unit}"
    return f"{x:.2g} /s"


def us(v):
    v = float(v)
    return f"{v:,.2f}" if v < 100 else f"{v:,.0f}"


def with_error(m, fmt=rate):
    if m is None:
        return "–"
    score, err, _ = m
    if err is None:
        return fmt(score)
    return f"{fmt(score)} ± {100 * err / score:.0f}%" if score else fmt(score)


def ratio(a, b):
    if a is None or b is None or b == 0:
        return "–"
    r = a / b
    return f"{r:.3g}×"


def table(header, rows):
    out = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    out += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(out)


def size_label(size):
    return {64: "64 B", 1024: "1 KiB", 65536: "64 KiB"}.get(size, f"{size} B")


def mean_mib(r, metric):
    m = r.get("secondaryMetrics", {}).get(metric)
    raw = [x for fork in m["rawData"] for x in fork] if m else []
    return f"{sum(raw) / len(raw):.1f} MiB" if raw else "–"


def handoff_section(res, name, group_label, impls_order):
    out = []
    for size in res.sizes(name):
        present = [i for i in impls_order if res.get(name, impl=i, size=size)]
        if not present:
            continue
        rows = [[f"`{i}`", with_error(res.metric(name, "polled", impl=i, size=size)),
                 rate(res.score(name, "offerFull", impl=i, size=size)),
                 rate(res.score(name, "pollEmpty", impl=i, size=size))] for i in present]
        out.append(f"**{group_label}, {size_label(size)} items** — items handed over per second (`polled`)\n")
        out.append(table(["implementation", "items/s", "offers refused (full)/s", "polls empty/s"], rows))
        peers = [i for i in present if i not in KESTREL]
        ours = [i for i in present if i in KESTREL]
        if peers and ours:
            rows = [[f"`{k}`"] + [ratio(res.score(name, "polled", impl=k, size=size),
                                        res.score(name, "polled", impl=p, size=size)) for p in peers]
                    for k in ours]
            out.append("")
            out.append(f"Kestrel ÷ peer, {size_label(size)}:\n")
            out.append(table(["Kestrel"] + [f"÷ `{p}`" for p in peers], rows))
        out.append("")
    return out


def main(path, readme=None):
    stem = path[:-5] if path.endswith(".json") else path
    jmh, latency, env = load(stem)
    res = Results(jmh)
    md = []
    mode = env.get("mode", "?")
    title = os.path.basename(stem)
    md.append(f"## Benchmarks: {title}")
    md.append("")
    if env.get("indicative", mode == "quick"):
        md.append("**Quick run: the numbers are INDICATIVE only** (one fork, short iterations, 64-byte items). "
                  "Compare ratios within this run, not absolute numbers across runs.")
        md.append("")
    md.append("Scores are JMH means; `± n%` is JMH's 99.9% confidence interval relative to the score, shown "
              "where JMH could compute one (not with only 2 measurement iterations).")
    md.append("")
    md.append(table(["", ""], [
        ["date (UTC)", env.get("date", "?")],
        ["mode", mode],
        ["JDK", env.get("java", "?")],
        ["CPU", f"{env.get('cpuModel', '?')}, {env.get('cores', '?')} cores"],
        ["memory / kernel / file system", f"{env.get('memTotal', '?')} / {env.get('kernel', '?')} / {env.get('filesystem', '?')}"],
        ["load average before / after", f"{env.get('loadAverageBefore', '?')} / {env.get('loadAverageAfter', '?')}"],
        ["JMH options", f"`{env.get('jmhOptions', '?')}`"],
        ["latency runs", f"`{env.get('latencyOptions', '?')}`"],
        ["wall time", f"{env.get('wallSeconds', '?')} s"],
        ["commit", env.get("commit", "?")],
    ]))
    md.append("")

    spsc_order = KESTREL + ["chronicle", "tape", "baseline-ring", "jctools-spsc", "jctools-mpmc", "abq", "lbq"]
    md.append("### Producer and consumer at the same time (`SpscRoundTripBenchmark`, `MpmcRoundTripBenchmark`)")
    md.append("")
    md += handoff_section(res, "SpscRoundTripBenchmark.spsc", "1 producer + 1 consumer", spsc_order)
    md += handoff_section(res, "MpmcRoundTripBenchmark.p4c1", "4 producers + 1 consumer", spsc_order)
    md += handoff_section(res, "MpmcRoundTripBenchmark.p2c2", "2 producers + 2 consumers", spsc_order)

    md.append("### `put` alone, 1 / 8 / 32 threads (`GroupCommitBenchmark`), puts/s over all threads")
    md.append("")
    gc_name = {1: "GroupCommitBenchmark.put1Thread", 8: "GroupCommitBenchmark.put8Threads",
               32: "GroupCommitBenchmark.put32Threads"}
    for size in res.sizes(gc_name[1]):
        impls = [i for i in KESTREL + ["chronicle", "tape"] if res.get(gc_name[1], impl=i, size=size)]
        rows = [[f"`{i}`"] + [with_error(res.metric(gc_name[t], impl=i, size=size)) for t in (1, 8, 32)]
                for i in impls]
        md.append(f"**{size_label(size)} items**\n")
        md.append(table(["implementation", "1 thread", "8 threads", "32 threads"], rows))
        tape1 = res.score(gc_name[1], impl="tape", size=size)
        rows = []
        for k in [i for i in impls if i in KESTREL]:
            row = [f"`{k}`"]
            for t in (1, 8, 32):
                ours = res.score(gc_name[t], impl=k, size=size)
                row.append(f"{ratio(ours, res.score(gc_name[t], impl='chronicle', size=size))} / {ratio(ours, tape1)}")
            rows.append(row)
        md.append("")
        md.append(f"Kestrel ÷ Chronicle Queue (same threads) / ÷ Tape (1 thread, one fsync per put), {size_label(size)}:\n")
        md.append(table(["Kestrel", "1 thread", "8 threads", "32 threads"], rows))
        md.append("")

    md.append("### Batches of 100 (`BatchBenchmark`), one thread, items/s")
    md.append("")
    for size in res.sizes("BatchBenchmark.putAll"):
        tape1 = res.score(gc_name[1], impl="tape", size=size)
        rows = []
        for k in KESTREL:
            if not res.get("BatchBenchmark.putAll", impl=k, size=size):
                continue
            pa = res.metric("BatchBenchmark.putAll", impl=k, size=size)
            pd = res.metric("BatchBenchmark.putAllThenDrainTo", impl=k, size=size)
            single = res.score(gc_name[1], impl=k, size=size)
            rows.append([f"`{k}`", with_error(pa), with_error(pd), ratio(pa and pa[0], single), ratio(pa and pa[0], tape1)])
        md.append(f"**{size_label(size)} items**\n")
        md.append(table(["policy", "`putAll`", "`putAll` + `drainTo`", "`putAll` ÷ single `put` (1 thread)",
                         "`putAll` ÷ Tape `add`"], rows))
        md.append("")

    md.append("### Buffer paths on one thread, `never()` (`PutPollBenchmark`, `-prof gc`)")
    md.append("")
    for size in res.sizes("PutPollBenchmark.put"):
        rows = []
        for b in ("put", "putThenPoll", "putThenOpenConfirm"):
            n = "PutPollBenchmark." + b
            alloc = res.score(n, "gc.alloc.rate.norm", size=size)
            rows.append([f"`{b}`", with_error(res.metric(n, size=size)),
                         "–" if alloc is None else f"{alloc:.2f}"])
        md.append(f"**{size_label(size)} items**\n")
        md.append(table(["benchmark", "ops/s", "allocated B/op (`gc.alloc.rate.norm`)"], rows))
        md.append("")

    md.append("### Reopen with 1 GiB of unconsumed 64-byte items (`ReopenBenchmark`, single shot)")
    md.append("")
    rows = []
    for cache in ("warm", "cold"):
        r = res.get("ReopenBenchmark.reopen", cache=cache)
        if r is None:
            rows.append([cache, "not run (or failed)", "–", "–"])
            continue
        raw = [x for fork in r["primaryMetric"]["rawData"] for x in fork]
        rows.append([cache, f"{sum(raw) / len(raw):.0f} ms", f"{min(raw):.0f} – {max(raw):.0f} ms",
                     mean_mib(r, "heapBeforeMiB"), mean_mib(r, "heapUsedMiB")])
    md.append(table(["page cache", "mean time to reopen", "min – max", "heap before (no store open)",
                     "heap after reopen"], rows))
    md.append("")
    md.append("Heap in use after a full GC, mean over the shots.")
    md.append("")

    md.append("### Handoff latency at a fixed offered rate (`HandoffLatency`, 64 B, polling consumer)")
    md.append("")
    md.append("Measured from each item's intended send time (corrected for coordinated omission), HdrHistogram, µs.\n")
    rows = []
    for l in sorted(latency, key=lambda l: (-l["offeredRate"], spsc_order.index(l["impl"]) if l["impl"] in spsc_order else 99)):
        rows.append([f"`{l['impl']}`", rate(l["offeredRate"]), rate(l["achievedRate"]), f"{l['recorded']:,}"]
                    + [us(l[k]) for k in ("p50Us", "p99Us", "p999Us", "p9999Us", "maxUs")])
    md.append(table(["implementation", "offered", "sent", "samples", "p50", "p99", "p99.9", "p99.99", "max"], rows))
    md.append("")

    md.append("### Targets (64-byte items, ratios within this run)")
    md.append("")
    md += targets(res, latency)
    text = "\n".join(md) + "\n"
    with open(stem + ".md", "w") as f:
        f.write(text)
    print(text)
    if readme:
        into_readme(readme, text, os.path.relpath(stem + ".json", os.path.dirname(os.path.abspath(readme))))


BEGIN = "<!-- benchmarks:begin -->"
END = "<!-- benchmarks:end -->"


def into_readme(readme, text, source):
    """Puts the table between the README's markers, its headings one level down."""
    with open(readme) as f:
        doc = f.read()
    if BEGIN not in doc or END not in doc:
        sys.exit(f"{readme}: no {BEGIN} ... {END} markers")
    body = "\n".join(("#" + line) if line.startswith("#") else line for line in text.splitlines())
    note = f"<!-- generated by benchmarks/table.py from {source}; do not edit by hand -->"
    head, rest = doc.split(BEGIN, 1)
    _, tail = rest.split(END, 1)
    with open(readme, "w") as f:
        f.write(head + BEGIN + "\n" + note + "\n\n" + body + "\n" + END + tail)


def targets(res, latency):
    rows = []

    def check(name, value, ok, shown):
        rows.append([name, shown, "–" if value is None else ("met" if ok else "**missed**")])

    spsc = "SpscRoundTripBenchmark.spsc"
    never = res.score(spsc, "polled", impl="kestrel-never", size=64)
    chron = res.score(spsc, "polled", impl="chronicle", size=64)
    ring = res.score(spsc, "polled", impl="baseline-ring", size=64)
    r = never / chron if never and chron else None
    check("put+poll SPSC `never()` ≥ 5× Chronicle Queue", r, r is not None and r >= 5,
          f"{rate(never)} vs {rate(chron)}: {ratio(never, chron)}")
    r = never / ring if never and ring else None
    check("put+poll SPSC `never()` ≥ 50% of the baseline ring", r, r is not None and r >= 0.5,
          f"{rate(never)} vs {rate(ring)}: {100 * r:.1f}%" if r is not None else "–")
    tape = res.score("GroupCommitBenchmark.put1Thread", impl="tape", size=64)
    a32 = res.score("GroupCommitBenchmark.put32Threads", impl="kestrel-always", size=64)
    r = a32 / tape if a32 and tape else None
    check("`always()`, 32 producer threads ≥ 20× Tape (fsync per op)", r, r is not None and r >= 20,
          f"{rate(a32)} vs {rate(tape)}: {ratio(a32, tape)}")
    batch = res.score("BatchBenchmark.putAll", impl="kestrel-always", size=64)
    r = batch / tape if batch and tape else None
    check("`always()` `putAll` batches of 100 ≥ 100× Tape", r, r is not None and r >= 100,
          f"{rate(batch)} items/s vs {rate(tape)}: {ratio(batch, tape)}")
    for b, limit, label in (("put", 1, "buffer `put` allocates 0 B/op (< 1)"),
                            ("putThenPoll", 1, "buffer `put`+`poll` allocates 0 B/op (< 1)"),
                            ("putThenOpenConfirm", HANDLE_BYTES + 1,
                             f"`open`+`confirm` allocates at most the handle ({HANDLE_BYTES} B)")):
        a = res.score("PutPollBenchmark." + b, "gc.alloc.rate.norm", size=64)
        check(label, a, a is not None and a < limit, "–" if a is None else f"{a:.2f} B/op")
    lat = [l for l in latency if l["impl"] == "kestrel-never" and l["offeredRate"] == 1000000]
    if lat:
        l = lat[0]
        sent = f" (sent {rate(l['achievedRate'])})"
        check("handoff at 1 M/s: p99 < 10 µs", l, float(l["p99Us"]) < 10, f"p99 = {us(l['p99Us'])} µs" + sent)
        check("handoff at 1 M/s: p99.9 < 100 µs", l, float(l["p999Us"]) < 100, f"p99.9 = {us(l['p999Us'])} µs" + sent)
    else:
        check("handoff at 1 M/s: p99 < 10 µs, p99.9 < 100 µs", None, False, "not run")
    r = res.get("ReopenBenchmark.reopen", cache="warm")
    if r:
        raw = [x for fork in r["primaryMetric"]["rawData"] for x in fork]
        mean = sum(raw) / len(raw)
        check("reopen with 1 GiB, warm page cache < 1 s", mean, mean < 1000, f"{mean:.0f} ms (mean of {len(raw)})")
    else:
        check("reopen with 1 GiB, warm page cache < 1 s", None, False, "not run")
    return [table(["target", "measured", "result"], rows)]


if __name__ == "__main__":
    args = sys.argv[1:]
    if len(args) == 3 and args[1] == "--readme":
        main(args[0], args[2])
    elif len(args) == 1:
        main(args[0])
    else:
        sys.exit("usage: table.py benchmarks/results/<date>-<mode>.json [--readme README.md]")
