#!/usr/bin/env python3
"""CPU of the shipped Fluent Bit pipeline with `gopanic_reassemble` against
the same pipeline with `gopanic_passthrough` (and with no wasm filter), in a
real Fluent Bit, on a generated mix of container logs.

    FLUENT_BIT=/path/to/fluent-bit benches/fluent_bit_cpu.py [--lines N]
        [--module FILE] [--aot FILE] [--crash-every N] [--runs N]
        [--mix both|crash|ordinary] [--baseline-module FILE] [--baseline-aot FILE]
    benches/fluent_bit_cpu.py [--lines N] --trace FILE

The mix: N CRI lines over 20 container files, 55% JSON service log lines
and 45% plain text lines, on stdout and stderr, and one real crash report
from the fixture corpus (CRI form, its own lines) every ~2,000 lines; a
second mix holds the ordinary lines only. Fluent Bit reads the files from
their start at full speed; CPU is user + system time of the Fluent Bit
process once every record is out (file output), so each figure is the cost
of the whole pipeline. Runs of the variants alternate, and the ratios are
of medians taken in the same run of this script, and per round (each
reassemble run against the passthrough run just before it), with their
median: on a shared machine the rounds drift more than the variants differ.
"""

import argparse
import calendar
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "real-hosts"))
import flb  # noqa: E402

CORPUS = flb.ROOT / "tests" / "fixtures" / "corpus"
FILES = 20
MAX_REPORT_LINES = 2000


def crash_reports():
    """The CRI lines of every report of the corpus, as written."""
    out = []
    for truth_path in sorted(CORPUS.glob("*/*/truth.json")):
        truth = json.loads(truth_path.read_text())
        lines = truth["lines"]
        for r in truth["reports"]:
            # Lines over 16 KiB would need CRI chunks, and a 22,000-line
            # dump would be a third of the mix on its own: left out.
            texts = [lines[i]["text"] for i in r["lines"]]
            if any(len(t) > 16000 for t in texts) or len(texts) > MAX_REPORT_LINES:
                continue
            stream = lines[r["lines"][0]]["stream"]
            out.append((stream, texts))
    return out


def write_mix(dirpath, n, crash_every, seed=7):
    rnd = random.Random(seed)
    reports = crash_reports() if crash_every else []
    files = [open(dirpath / f"svc-{i:02d}.log", "w") for i in range(FILES)]
    t = 1_800_000_000 * 10**9
    counts = {"lines": 0, "reports": 0, "report_lines": 0}
    users = ["ana", "bo", "chen", "dee", "eli"]
    routes = ["/v1/orders", "/v1/cart", "/healthz", "/v1/users/42", "/metrics"]

    def stamp():
        s, ns = divmod(t, 10**9)
        return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(s)) + f".{ns:09d}Z"

    while counts["lines"] < n:
        f = files[rnd.randrange(FILES)]
        t += rnd.randrange(200_000, 2_000_000)
        if reports and rnd.randrange(crash_every) == 0:
            stream, texts = reports[rnd.randrange(len(reports))]
            for text in texts:
                t += 1000
                f.write(f"{stamp()} {stream} F {text}\n")
            counts["lines"] += len(texts)
            counts["reports"] += 1
            counts["report_lines"] += len(texts)
            continue
        stream = "stdout" if rnd.random() < 0.7 else "stderr"
        if rnd.random() < 0.55:
            text = json.dumps({
                "level": rnd.choice(["info", "info", "info", "warn", "debug"]),
                "ts": stamp(), "msg": "request served",
                "route": rnd.choice(routes), "status": rnd.choice([200, 200, 201, 404, 500]),
                "duration_ms": round(rnd.random() * 40, 3), "user": rnd.choice(users),
                "trace_id": f"{rnd.getrandbits(64):016x}",
            }, separators=(",", ":"))
        else:
            text = (f"{stamp()[:19].replace('T', ' ')} INFO worker {rnd.randrange(64)}: "
                    f"processed batch {rnd.randrange(10**6)} in {rnd.randrange(900)}ms "
                    f"({rnd.choice(users)})")
        f.write(f"{stamp()} {stream} F {text}\n")
        counts["lines"] += 1
    for f in files:
        f.close()
    counts["records"] = counts["lines"] - counts["report_lines"] + counts["reports"]
    return counts


def write_trace(logs, path, chunk=32 * 1024, beat_every=1000):
    """The crash mix as the calls Fluent Bit makes, for the host-tests'
    `ops` example (wasm instructions per call): records as its tail `cri`
    parser makes them, tagged as tail tags them, files read in chunks of
    `chunk` bytes in turn, a heartbeat every `beat_every` records."""
    readers = []
    for p in sorted(logs.glob("*.log")):
        tag = "kube." + str(p).replace("/", ".").lstrip(".")
        readers.append((tag, p.read_text().splitlines(keepends=True)))
    beat = '{"gopanic_tick":true,"max_record_bytes":262144,"profile":"default"}'
    host = 1_900_000_000 * 10**9
    n = 0
    with open(path, "w") as w:
        pos = [0] * len(readers)
        while any(pos[i] < len(r[1]) for i, r in enumerate(readers)):
            for i, (tag, lines) in enumerate(readers):
                size = 0
                while pos[i] < len(lines) and size < chunk:
                    line = lines[pos[i]]
                    pos[i] += 1
                    size += len(line)
                    stamp, stream, p, text = line.rstrip("\n").split(" ", 3)
                    rec = json.dumps({"time": stamp, "stream": stream, "_p": p, "log": text},
                                     separators=(",", ":"))
                    s, ns = flb_time(stamp)
                    w.write(f"{tag}\t{s}\t{ns}\t{rec}\n")
                    n += 1
                    if n % beat_every == 0:
                        host += 50_000_000
                        w.write(f"gopanic.tick\t{host // 10**9}\t{host % 10**9}\t{beat}\n")
        for _ in range(40):
            host += 50_000_000
            w.write(f"gopanic.tick\t{host // 10**9}\t{host % 10**9}\t{beat}\n")


def flb_time(stamp):
    """Seconds and nanoseconds of an RFC 3339 UTC stamp with nanoseconds."""
    base, frac = stamp.rstrip("Z").split(".")
    s = calendar.timegm(time.strptime(base, "%Y-%m-%dT%H:%M:%S"))
    return s, int(frac.ljust(9, "0")[:9])


def run(binary, work, module, function, logs_glob, want, no_filter=False):
    out = work / "out.txt"
    if out.exists():
        out.unlink()
    for p in work.glob("tail.db*"):
        p.unlink()
    conf = flb.shipped_config(
        work, module, output=[["Name", "file"], ["Path", str(work)], ["File", "out.txt"]],
        function=function, inputs_glob=logs_glob)
    if no_filter:
        # The same pipeline without the module and what serves it.
        secs = flb.parse_classic(conf)
        secs = [s for s in secs if flb.get(s[1], "Name") not in ("wasm", "dummy", "rewrite_tag")]
        conf = flb.render(secs)
    (work / "bench.conf").write_text(conf)
    fb = flb.FluentBit(binary, work / "bench.conf", work / "bench.log")
    try:
        got = flb.wait_stable(out, want, timeout=1800)
    finally:
        cpu = fb.stop()
    return cpu, got


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--lines", type=int, default=1_000_000)
    ap.add_argument("--crash-every", type=int, default=2000)
    ap.add_argument("--module", help="the .wasm (default: build it)")
    ap.add_argument("--aot", help="also measure this WAMR AOT object of the module")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--mix", choices=["both", "crash", "ordinary"], default="both",
                    help="which mix to measure")
    ap.add_argument("--baseline-module", help="also measure this other .wasm (e.g. the "
                    "module before a change), in the same runs")
    ap.add_argument("--baseline-aot", help="also measure this other AOT object")
    ap.add_argument("--trace", help="only write the crash mix as a call trace to this file "
                    "(for the host-tests' ops example) and exit")
    args = ap.parse_args()
    if args.trace:
        logs = Path(tempfile.mkdtemp(prefix="gopanic-flb-trace-"))
        write_mix(logs, args.lines, args.crash_every)
        write_trace(logs, args.trace)
        shutil.rmtree(logs)
        return 0
    binary = os.environ.get("FLUENT_BIT")
    if not binary:
        print("SKIPPED: Fluent Bit CPU benchmark (set FLUENT_BIT=<fluent-bit binary>)")
        return 0
    if args.module:
        module = Path(args.module)
    else:
        out = subprocess.run(["bash", str(flb.ROOT / "plugin/fluent-bit/build.sh")],
                             check=True, capture_output=True, text=True)
        module = Path(out.stdout.strip())
    work = Path(tempfile.mkdtemp(prefix="gopanic-flb-cpu-"))
    print(f"Fluent Bit {flb.version(binary)}; {args.lines} lines over {FILES} files; "
          f"{args.runs} runs each, medians of user+sys CPU seconds")
    modules = [("wasm", module)] + ([("aot", Path(args.aot))] if args.aot else [])
    if args.baseline_module:
        modules.append(("baseline wasm", Path(args.baseline_module)))
    if args.baseline_aot:
        modules.append(("baseline aot", Path(args.baseline_aot)))
    mixes = [("crash mix", args.crash_every), ("ordinary only", 0)]
    mixes = [m for m in mixes if args.mix == "both" or m[0].startswith(args.mix)]
    for mix, every in mixes:
        logs = work / mix.replace(" ", "_")
        logs.mkdir()
        counts = write_mix(logs, args.lines, every)
        glob = str(logs / "*.log")
        variants = [("no wasm filter", module, None, True)]
        for kind, m in modules:
            if not kind.startswith("baseline"):
                variants.append((f"passthrough ({kind})", m, "gopanic_passthrough", False))
            variants.append((f"reassemble ({kind})", m, "gopanic_reassemble", False))
        cpus = {v[0]: [] for v in variants}
        for _ in range(args.runs):
            for name, m, fn, nofilter in variants:
                want = counts["lines"] if (fn != "gopanic_reassemble") else counts["records"]
                t0 = time.time()
                cpu, got = run(binary, work, m, fn, glob, want, no_filter=nofilter)
                print(f"  {mix} / {name}: {cpu:.2f} s CPU, {got} of {want} records, "
                      f"{time.time() - t0:.0f} s wall", flush=True)
                cpus[name].append(cpu)
        print(f"\n{mix}: {counts['lines']} lines, {counts['reports']} crash reports "
              f"({counts['report_lines']} lines, {100 * counts['report_lines'] / counts['lines']:.1f}%)")
        med = {k: statistics.median(v) for k, v in cpus.items()}
        base = med["no wasm filter"]
        for name, cpu in med.items():
            print(f"  {name:24} {cpu:7.2f} s  {cpu / base:5.2f}x no filter"
                  f"  {1e6 * cpu / counts['lines']:6.2f} us/line   runs: "
                  + ", ".join(f"{c:.2f}" for c in cpus[name]))
        for kind, _ in modules:
            # A baseline is compared with the passthrough of its own kind.
            r = med[f"reassemble ({kind})"]
            p = med[f"passthrough ({kind.removeprefix('baseline ')})"]
            # Each round runs passthrough just before reassemble: their
            # ratio within a round does not see the drift between rounds
            # that a shared machine shows (single runs differ by 20%).
            pairs = [a / b for a, b in zip(cpus[f"reassemble ({kind})"],
                                           cpus[f"passthrough ({kind.removeprefix('baseline ')})"])]
            print(f"  reassemble/passthrough ({kind}): {r / p:.3f}x, "
                  f"{1e6 * (r - p) / counts['lines']:+.2f} us/line; per round: "
                  + ", ".join(f"{x:.3f}" for x in pairs)
                  + f" (median {statistics.median(pairs):.3f}x)")
        shutil.rmtree(logs)
    shutil.rmtree(work)
    return 0


if __name__ == "__main__":
    sys.exit(main())
