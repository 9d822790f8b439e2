#!/usr/bin/env python3
"""The shipped Fluent Bit config, run in a real Fluent Bit, over the fixture
corpus: every CRI and docker file tailed at once.

    FLUENT_BIT=/path/to/fluent-bit [LOKI_URL=http://host:3100] \
        tests/real-hosts/fluent_bit.py [--module FILE]

Checks, per file: every crash report of the ground truth leaves as exactly
one record with exactly its lines, under the file's tag, with the first
line's timestamp restored; every other line leaves exactly once, unchanged
and in order per stream, with its own timestamp; no `gopanic_*` helper field
is left and nothing stays under the heartbeat tag. The module is the
`.wasm` that plugin/fluent-bit/build.sh builds (or --module, e.g. a WAMR AOT
object compiled for this Fluent Bit). Without FLUENT_BIT it says it skipped.

With LOKI_URL (a real Loki), a second run sends the largest report of the
corpus (busy_server: 3,000 goroutines, 22,091 lines) and a few ordinary
files through the shipped `loki` output unchanged but for host and port, and
checks that Loki accepted every record (no error in Fluent Bit's log) and
that `{job="fluent-bit"} | json | go_report_id="…"` returns every part.
"""

import argparse
import json
import os
import time
import urllib.parse
import urllib.request
import shutil
import subprocess
import sys
import tempfile
from collections import defaultdict
from datetime import datetime, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import flb  # noqa: E402

CORPUS = flb.ROOT / "tests" / "fixtures" / "corpus"
HELPERS = ("gopanic_tag", "gopanic_time", "gopanic_reemitted")
# The shipped heartbeat's max_record_bytes (Loki's line limit).
MAX_RECORD = 262_144


def ns(rfc3339):
    """RFC 3339 with up to nine fraction digits to Unix nanoseconds."""
    head, _, frac = rfc3339.rstrip("Z").partition(".")
    t = datetime.strptime(head, "%Y-%m-%dT%H:%M:%S").replace(tzinfo=timezone.utc)
    return int(t.timestamp()) * 1_000_000_000 + int((frac + "000000000")[:9])


def rfc3339(t_ns):
    s, frac = divmod(t_ns, 1_000_000_000)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(s)) + f".{frac:09d}Z"


def build_module():
    out = subprocess.run(["bash", str(flb.ROOT / "plugin/fluent-bit/build.sh")],
                         check=True, capture_output=True, text=True)
    return Path(out.stdout.strip())


def expected(truth, fmt):
    """The records a file must give: reports and ordinary lines."""
    lines = truth["lines"]
    in_report = set()
    reports = []
    for r in truth["reports"]:
        in_report.update(r["lines"])
        first = lines[r["lines"][0]]
        reports.append(("\n".join(lines[i]["text"] for i in r["lines"]),
                        ns(first["time"]), first["stream"]))
    ordinary = defaultdict(list)
    for i, l in enumerate(lines):
        if i not in in_report:
            text = l["text"] + ("\n" if fmt == "docker" else "")
            ordinary[l["stream"]].append((text, ns(l["time"])))
    return reports, ordinary


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--module", help="the module to load (default: build the .wasm)")
    ap.add_argument("--timeout", type=float, default=600)
    ap.add_argument("--keep", action="store_true", help="keep the scratch dir")
    args = ap.parse_args()
    binary = os.environ.get("FLUENT_BIT")
    if not binary:
        print("SKIPPED: real Fluent Bit check (set FLUENT_BIT=<fluent-bit binary>, "
              ">= 4.1.2 with the wasm filter)")
        return 0
    module = Path(args.module) if args.module else build_module()
    work = Path(tempfile.mkdtemp(prefix="gopanic-flb-"))
    logs = work / "logs"
    logs.mkdir()
    want = {}
    total = 0
    for truth_path in sorted(CORPUS.glob("*/*/truth.json")):
        truth = json.loads(truth_path.read_text())
        run = truth_path.parent
        for fmt in ("cri", "docker"):
            name = f"{run.parent.name}_{run.name}.{fmt}.log"
            shutil.copy(run / f"{fmt}.log", logs / name)
            reports, ordinary = expected(truth, fmt)
            want[name] = (reports, ordinary)
            total += len(reports) + sum(len(v) for v in ordinary.values())
    out_file = work / "out.txt"
    conf = flb.shipped_config(
        work, module,
        output=[["Name", "file"], ["Path", str(work)], ["File", "out.txt"]],
        inputs_glob=str(logs / "*.log"))
    (work / "fluent-bit.conf").write_text(conf)
    fb = flb.FluentBit(binary, work / "fluent-bit.conf", work / "fluent-bit.log")
    try:
        got_n = flb.wait_stable(out_file, total, args.timeout)
    finally:
        cpu = fb.stop()
    rows = flb.read_out_file(out_file)

    failures = []
    stranded = [r for r in rows if r[0] == "gopanic.tick"]
    helpers = [r for r in rows if any(f'"{h}"' in r[2] for h in HELPERS)]
    got = defaultdict(lambda: ([], defaultdict(list)))
    parts = defaultdict(list)
    largest = 0
    for tag, t, body in rows:
        name = next((n for n in want if tag.endswith("." + n)), None)
        if name is None:
            continue
        largest = max(largest, len(body.encode("utf-8", "surrogateescape")))
        rec = json.loads(body)
        reports, ordinary = got[name]
        go = rec.get("go")
        if go and go.get("report_id"):
            parts[(name, go["report_id"])].append((go["part"], rec.get("log"), t, rec.get("stream")))
        elif go:
            reports.append((rec.get("log"), t, rec.get("stream"), rec))
        else:
            ordinary[rec.get("stream")].append((rec.get("log"), t))
    # A report past the record bound leaves in parts: joined back here.
    for (name, _), ps in parts.items():
        ps.sort()
        numbers = [p[0] for p in ps]
        if numbers != list(range(1, len(ps) + 1)):
            failures.append(f"{name}: report parts {numbers}")
        got[name][0].append(("\n".join(p[1] for p in ps), ps[0][2], ps[0][3], None))
    exact_files = 0
    lines_in = lines_out = 0
    reports_exact = reports_total = 0
    times_ok = True
    streams_in_order = streams_total = 0
    for name, (w_reports, w_ordinary) in sorted(want.items()):
        g_reports, g_ordinary = got[name]
        ok = True
        reports_total += len(w_reports)
        g_texts = [r[0] for r in g_reports]
        reports_exact += sum(1 for r in w_reports if r[0] in g_texts)
        if sorted(r[0] for r in w_reports) != sorted(g_texts):
            ok = False
            failures.append(f"{name}: reports differ ({len(w_reports)} expected, {len(g_reports)} out)")
        elif not same_times(w_reports, g_reports):
            ok = times_ok = False
            failures.append(f"{name}: report timestamps not the first line's")
        for stream in set(w_ordinary) | set(g_ordinary):
            w, g = w_ordinary.get(stream, []), g_ordinary.get(stream, [])
            streams_total += 1
            # Records that left through the heartbeat (lines held while
            # the grammar decided) come after lines that passed at once:
            # their timestamps give the order, as in Loki.
            streams_in_order += [x[0] for x in w] == [x[0] for x in g]
            if sorted(x[0] for x in w) != sorted(x[0] for x in g):
                ok = False
                failures.append(f"{name} {stream}: {len(w)} lines expected, {len(g)} out"
                                + first_difference(sorted(w), sorted(g)))
            elif not same_times(w, g):
                ok = times_ok = False
                failures.append(f"{name} {stream}: line timestamps differ")
        lines_in += sum(len(v) for v in w_ordinary.values()) + sum(r[0].count("\n") + 1 for r in w_reports)
        lines_out += sum(len(v) for v in g_ordinary.values()) + sum(
            (r[0] or "").count("\n") + 1 for r in g_reports)
        exact_files += ok
    print(f"Fluent Bit {flb.version(binary)}, module {module.name}: "
          f"{len(want)} files tailed at once, {got_n} of {total} records out, "
          f"Fluent Bit CPU {cpu if cpu is None else round(cpu, 2)} s")
    print(f"files exact: {exact_files}/{len(want)}; reports exact: {reports_exact}/{reports_total}; "
          f"lines in {lines_in}, out {lines_out}; timestamps restored: {times_ok}; "
          f"streams whose lines arrived in order: {streams_in_order}/{streams_total}; "
          f"records under gopanic.tick: {len(stranded)}; records with helper fields: {len(helpers)}; "
          f"reports in parts: {len(parts)} ({sum(len(p) for p in parts.values())} parts); "
          f"largest record {largest} bytes")
    if largest > MAX_RECORD:
        failures.append(f"a record of {largest} bytes, over the shipped bound {MAX_RECORD}")
    errors = [l for l in (work / "fluent-bit.log").read_text(errors="replace").splitlines()
              if "[error]" in l or "exception" in l.lower()]
    print(f"Fluent Bit log: {len(errors)} error lines")
    failures.extend(f"Fluent Bit: {l}" for l in errors[:10])
    if stranded:
        failures.append(f"{len(stranded)} records stayed under gopanic.tick: {stranded[0][2][:200]}")
    if helpers:
        failures.append(f"{len(helpers)} records carry gopanic_* helper fields")
    for f in failures[:40]:
        print("FAIL", f)
    if args.keep or failures:
        print("scratch dir:", work)
    else:
        shutil.rmtree(work)
    loki = os.environ.get("LOKI_URL")
    if not loki:
        print("SKIPPED: Loki part (set LOKI_URL=<http://host:port of a real Loki>)")
    elif not loki_check(binary, module, loki.rstrip("/")):
        failures.append("Loki: the big report did not arrive whole")
        print("FAIL Loki: the big report did not arrive whole")
    return 1 if failures else 0


def same_times(want, got, tolerance_ns=1000):
    """Each (text, time) of `want` has its text in `got` with the same time,
    within Fluent Bit's own rounding (it keeps times as doubles: about
    0.24 us at today's epoch)."""
    w = sorted((x[0], x[1]) for x in want)
    g = sorted((x[0], x[1]) for x in got)
    return len(w) == len(g) and all(
        a[0] == b[0] and abs(a[1] - b[1]) <= tolerance_ns for a, b in zip(w, g))


def first_difference(w, g):
    for i, (a, b) in enumerate(zip(w, g)):
        if a != b:
            return f"; first difference at {i}: expected {a[0][:80]!r}, got {b[0][:80]!r}"
    return ""


def loki_query(url, query, start_ns, end_ns, limit=5000):
    q = urllib.parse.urlencode({"query": query, "start": start_ns, "end": end_ns,
                                "limit": limit, "direction": "forward"})
    # No results cache: a range queried while the records arrive would be
    # answered from the first, partial answer.
    req = urllib.request.Request(f"{url}/loki/api/v1/query_range?{q}",
                                 headers={"Cache-Control": "no-cache"})
    with urllib.request.urlopen(req, timeout=60) as r:
        data = json.load(r)
    return [(int(ts), line, stream["stream"]) for stream in data["data"]["result"]
            for ts, line in stream["values"]]


def loki_check(binary, module, url):
    """The big report through the shipped loki output into a real Loki."""
    work = Path(tempfile.mkdtemp(prefix="gopanic-flb-loki-"))
    logs = work / "logs"
    logs.mkdir()
    big = CORPUS / "busy_server" / "go1.24"
    truth = json.loads((big / "truth.json").read_text())
    # Loki takes nothing older than a week (and, per stream, nothing much
    # older than what it holds): the file is moved to the present, its
    # lines' spacing kept.
    shift = time.time_ns() - 120 * 10**9 - ns(truth["lines"][0]["time"])
    with open(big / "cri.log") as src, open(logs / "busy_server.cri.log", "w") as dst:
        for line in src:
            stamp, rest = line.split(" ", 1)
            dst.write(f"{rfc3339(ns(stamp) + shift)} {rest}")
    conf = flb.shipped_config(work, module, output="shipped", inputs_glob=str(logs / "*.log"))
    conf = flb.loki_at(conf, url)
    (work / "fluent-bit.conf").write_text(conf)
    want_text = "\n".join(truth["lines"][i]["text"] for i in truth["reports"][0]["lines"])
    first_ns = ns(truth["lines"][truth["reports"][0]["lines"][0]]["time"]) + shift
    # Each part carries its own first line's time: within the report's span.
    start, end = first_ns - 10**9, first_ns + 60 * 10**9
    fb = flb.FluentBit(binary, work / "fluent-bit.conf", work / "fluent-bit.log")
    parts, deadline = {}, time.time() + 180
    try:
        while time.time() < deadline:
            time.sleep(3)
            rows = loki_query(url, '{job="fluent-bit"} |= "report_id"', start, end)
            parts = {}
            for ts, line, labels in rows:
                rec = json.loads(line)
                parts.setdefault(rec["go"]["report_id"], []).append((rec["go"]["part"], rec["log"], len(line)))
            if any("\n".join(p[1] for p in sorted(v)) == want_text for v in parts.values()):
                break
    finally:
        fb.stop()
    errors = [l for l in (work / "fluent-bit.log").read_text(errors="replace").splitlines()
              if "[error]" in l or "[ warn] [output:loki" in l]
    ok = False
    for rid, ps in parts.items():
        ps.sort()
        text = "\n".join(p[1] for p in ps)
        # The same report through the query that names its id.
        by_id = loki_query(url, f'{{job="fluent-bit"}} | json | go_report_id="{rid}"', start, end)
        print(f"Loki: report {rid}: {len(ps)} parts, largest line {max(p[2] for p in ps)} bytes, "
              f"text {'equal to' if text == want_text else 'DIFFERENT from'} the program's output; "
              f"go_report_id=\"{rid}\" returns {len(by_id)} lines")
        ok = ok or (text == want_text and len(by_id) == len(ps)
                    and [p[0] for p in ps] == list(range(1, len(ps) + 1)))
    print(f"Loki: {len(errors)} error lines in Fluent Bit's log")
    for l in errors[:5]:
        print("  ", l)
    shutil.rmtree(work)
    return ok and not errors


if __name__ == "__main__":
    sys.exit(main())
