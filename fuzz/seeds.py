#!/usr/bin/env python3
"""Seed corpora for the fuzz targets, from the fixture corpus.

Usage: fuzz/seeds.py [OUT_DIR]   (default: fuzz/corpus)

Writes OUT_DIR/<target>/<name> for each target (see fuzz/src/*.rs for the
input layouts), from tests/fixtures/corpus/**/{cri,docker,plain}.log and
tests/fixtures/multi. Seeds are cut to a few KiB at line boundaries: small
inputs keep executions fast, and the fuzzer grows what it needs. The seeds
are generated at run time and not committed (fuzz/.gitignore).
"""

import json
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = [ROOT / "tests/fixtures/corpus", ROOT / "tests/fixtures/multi"]
MAX_SEED = 6 * 1024
# Header byte 0 of the log_pipeline target: format in bits 0-1.
AUTO, CRI, DOCKER, PLAIN = 0, 1, 2, 3


def runs():
    for root in FIXTURES:
        for truth in sorted(root.rglob("truth.json")):
            yield truth.parent


def head(lines, limit=MAX_SEED):
    """As many whole lines as fit in `limit` bytes (at least one)."""
    out, size = [], 0
    for line in lines:
        if out and size + len(line) + 1 > limit:
            break
        out.append(line)
        size += len(line) + 1
    return out


def report_window(lines, limit=MAX_SEED):
    """The lines around the first crash line, so a cut seed keeps a report."""
    starts = ("panic: ", "fatal error: ", "SIG", "goroutine ", "==================", "runtime: ")
    for i, line in enumerate(lines):
        text = line
        if line.startswith("{"):
            try:
                text = json.loads(line).get("log", "")
            except ValueError:
                pass
        else:
            parts = line.split(" ", 3)
            if len(parts) == 4 and parts[1] in ("stdout", "stderr"):
                text = parts[3]
        if text.startswith(starts) or "http: panic serving" in text:
            return head(lines[max(0, i - 3):], limit)
    return head(lines, limit)


def write(out, target, name, data):
    d = out / target
    d.mkdir(parents=True, exist_ok=True)
    (d / name).write_bytes(data)


def cri_record(line):
    """A CRI line as Fluent Bit's `cri` parser makes it a record."""
    parts = line.split(" ", 3)
    if len(parts) < 3:
        return None
    time, stream, tag = parts[:3]
    text = parts[3] if len(parts) == 4 else ""
    return json.dumps(
        {"time": time, "stream": stream, "_p": tag.split(":")[0], "log": text},
        ensure_ascii=False,
        separators=(",", ":"),
    )


def log_pipeline(out, run, n):
    logs = {name: (run / name).read_text(errors="replace").split("\n") for name in ("cri.log", "docker.log", "plain.log") if (run / name).is_file()}
    for name, fmt in (("cri.log", CRI), ("docker.log", DOCKER), ("plain.log", PLAIN)):
        if name not in logs:
            continue
        lines = report_window(logs[name])
        # Odd runs read with format detection, with bounds in the options.
        b0 = fmt if n % 2 == 0 else AUTO | (n % 16) << 3
        write(out, "log_pipeline", f"{n:04}-{name}", bytes([b0, n % 256]) + "\n".join(lines).encode())
    # Two sources interleaved, with clock ticks between.
    if "cri.log" in logs and "docker.log" in logs:
        a, b = report_window(logs["cri.log"], MAX_SEED // 2), report_window(logs["docker.log"], MAX_SEED // 2)
        mixed = []
        for i in range(max(len(a), len(b))):
            if i < len(a):
                mixed.append(a[i])
            if i < len(b):
                mixed.append("\x02" + b[i])
            if i % 16 == 15:
                mixed.append(f"\x04{1_800_000_000_000 + i * 500}")
        write(out, "log_pipeline", f"{n:04}-mixed", bytes([AUTO, 7]) + "\n".join(mixed).encode())


def records(run):
    """Fluent Bit records of a run: CRI lines as the cri parser shapes them,
    docker lines as they are."""
    recs = []
    cri = (run / "cri.log").read_text(errors="replace").split("\n")
    recs += [r for r in map(cri_record, report_window(cri)) if r]
    docker = (run / "docker.log").read_text(errors="replace").split("\n")
    recs += [line for line in report_window(docker) if line]
    return recs


def json_scan(out, run, n):
    recs = records(run)
    # A crash line and an ordinary one of each run.
    picks = [r for r in recs if '"log":"panic' in r or '"log":"fatal' in r or '"log":"goroutine' in r][:2]
    picks += recs[:1]
    for i, r in enumerate(picks):
        write(out, "json_scan", f"{n:04}-{i}", r.encode())


def filter_target(out, run, n):
    recs = records(run)
    beat = json.dumps({"gopanic_tick": True})
    body, size = [], 0
    for i, r in enumerate(recs):
        if size + len(r) > MAX_SEED:
            break
        # Control byte: tag in bit 0, clock step (x 100 ms) in the rest.
        body.append(bytes([(n % 2) | 2]) + r.encode())
        size += len(r) + 2
        if i % 8 == 7:
            body.append(bytes([24]) + beat.encode())
    body += [bytes([24]) + beat.encode()] * 3
    write(out, "filter", f"{n:04}", b"\n".join(body))


def main():
    out = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "fuzz/corpus"
    n = 0
    for run in runs():
        log_pipeline(out, run, n)
        if (run / "cri.log").is_file() and (run / "docker.log").is_file():
            json_scan(out, run, n)
            filter_target(out, run, n)
        n += 1
    for target in sorted(os.listdir(out)):
        files = list((out / target).iterdir())
        print(f"{target}: {len(files)} seeds, {sum(f.stat().st_size for f in files)} bytes")


if __name__ == "__main__":
    main()
