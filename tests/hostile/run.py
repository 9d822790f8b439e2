#!/usr/bin/env python3
"""Hostile inputs through the release CLI: peak memory and output bounds.

    python3 tests/hostile/run.py [BINARY] [CASE…]

BINARY defaults to target/release/gopanic. Each case streams its input
through a pipe as it is generated (nothing is written to disk), reads the
records as they leave, and asserts:

- peak RSS (the kernel's max resident set size of the CLI, from wait4) is at
  most 64 MiB with default settings;
- every input line leaves exactly once: the lines the records hold (an
  ordinary record one, a report `go.lines`) add up to the lines written,
  plus the extra pieces of each line cut at the line bound
  (`--max-line-bytes`, 4 MiB, at most half of `--max-record-bytes`);
- with `--max-record-bytes N`, no record is longer than N bytes.

Cases: `long_line` (one 1 GiB CRI line: `panic: ` and a 1 GiB value, then
a goroutine block), `dump` (a 10-million-line GOTRACEBACK=all dump),
`streams` (100,000 streams each holding an open report, as JSON events
keyed by `file` and `stream`), and each of them again with
`--max-record-bytes 262144` (Loki's line limit).
"""

import json
import os
import subprocess
import sys
import threading
import time

MIB = 1 << 20
PEAK_RSS_KIB = 64 * 1024
MAX_LINE_BYTES = 4 * MIB
MAX_RECORD_BYTES = 262144
CRI = b"2026-11-27T06:51:01.000000001Z stderr F "


def pieces(text_len, bound):
    """Lines a logical line of `text_len` ASCII bytes leaves as."""
    return max(1, -(-text_len // bound))


class Input:
    """An input's chunks, and what to expect out of it."""

    def __init__(self, chunks):
        self.chunks = chunks
        self.lines = 0  # physical lines written
        self.long_lines = []  # text lengths of the lines over the line bound

    def lines_out(self, bound):
        """Lines the records must hold: each line over `bound` in pieces."""
        return self.lines + sum(pieces(n, bound) - 1 for n in self.long_lines)


def long_line(value_bytes=1 << 30):
    """`panic: ` + a value of `value_bytes` in one CRI line, then a
    goroutine block."""
    inp = Input(None)

    def chunks():
        yield CRI + b"panic: "
        block = b"v" * MIB
        for _ in range(value_bytes // MIB):
            yield block
        yield b"v" * (value_bytes % MIB) + b"\n"
        tail = [b"", b"goroutine 1 [running]:", b"main.main()", b"\t/app/main.go:9 +0x1d"]
        yield b"".join(CRI + t + b"\n" for t in tail)

    inp.chunks = chunks()
    inp.lines = 5
    inp.long_lines = [len(b"panic: ") + value_bytes]
    return inp


def dump(total_lines=10_000_000):
    """A GOTRACEBACK=all dump of `total_lines` plain lines."""
    inp = Input(None)
    inp.lines = total_lines

    def chunks():
        head = [
            "panic: runtime error: index out of range [5] with length 3",
            "",
            "goroutine 1 [running]:",
            "main.main()",
            "\t/app/main.go:9 +0x1d",
        ]
        yield ("\n".join(head) + "\n").encode()
        left = total_lines - len(head)
        gid = 2
        while left >= 6:
            n = min(10_000, left // 6)
            batch = []
            for g in range(gid, gid + n):
                batch.append(
                    f"\ngoroutine {g} [chan receive, {g % 60} minutes]:\n"
                    f"github.com/acme/orders/worker.(*Pool).run(0xc000{g % 4096:04x}00)\n"
                    f"\t/app/worker/pool.go:{g % 300} +0x1d\n"
                    f"created by github.com/acme/orders/worker.New in goroutine 1\n"
                    f"\t/app/worker/pool.go:41 +0x3c\n"
                )
            gid += n
            left -= 6 * n
            yield "".join(batch).encode()
        yield b"exit status 2\n" * left

    inp.chunks = chunks()
    return inp


def streams(n=100_000, value_bytes=1000):
    """`n` streams (JSON events keyed by `file` and `stream`) each opening
    a report, round by round, so all are open at once, then closing them."""
    inp = Input(None)
    frame = "github.com/acme/orders/handler.(*Server)." + "x" * value_bytes + "(0xc000010000)"
    rounds = [
        "panic: " + "v" * value_bytes,
        "",
        "goroutine 1 [running]:",
        frame,
        "\t/app/handler/server.go:77 +0x1d",
        frame,
        "\t/app/handler/server.go:78 +0x1d",
        "main.main()",
        "\t/app/main.go:9 +0x1d",
    ]
    inp.lines = n * len(rounds)

    def chunks():
        for text in rounds:
            msg = json.dumps(text)
            batch = []
            for s in range(n):
                batch.append(
                    f'{{"file":"/var/log/pods/shop_p{s}/app/0.log","stream":"stderr",'
                    f'"timestamp":"2026-11-27T06:51:01Z","message":{msg}}}\n'
                )
                if len(batch) == 1000:
                    yield "".join(batch).encode()
                    batch = []
            yield "".join(batch).encode()

    inp.chunks = chunks()
    return inp


CASES = {
    "long_line": (long_line, []),
    "dump": (dump, ["--format", "plain"]),
    "streams": (streams, ["--format", "json"]),
}


def run(binary, name, make, args, max_record):
    inp = make()
    cmd = [binary, "--stats", *args]
    if max_record:
        cmd += ["--max-record-bytes", str(max_record)]
    proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    errors = []

    def feed():
        try:
            for c in inp.chunks:
                proc.stdin.write(c)
            proc.stdin.close()
        except BrokenPipeError:
            errors.append("the CLI closed its input early")

    stderr = []
    threads = [
        threading.Thread(target=feed),
        threading.Thread(target=lambda: stderr.append(proc.stderr.read())),
    ]
    start = time.monotonic()
    for t in threads:
        t.start()
    records = lines_out = longest = 0
    for rec in proc.stdout:
        records += 1
        longest = max(longest, len(rec) - 1)
        r = json.loads(rec)
        go = r.get("go")
        lines_out += go["lines"] if isinstance(go, dict) else 1
    for t in threads:
        t.join()
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    took = time.monotonic() - start
    rss = usage.ru_maxrss  # KiB on Linux
    # The line bound is at most half the record bound, when one is set.
    want = inp.lines_out(min(MAX_LINE_BYTES, max_record // 2) if max_record else MAX_LINE_BYTES)
    label = name + (f" --max-record-bytes {max_record}" if max_record else "")
    print(
        f"{label:40} {took:6.1f} s  peak RSS {rss / 1024:7.1f} MiB  "
        f"{inp.lines} lines in, {lines_out} out (want {want}) in {records} records, "
        f"longest {longest} bytes"
    )
    if proc.returncode != 0:
        errors.append(f"exit code {proc.returncode}: {stderr[0].decode(errors='replace')[-500:]}")
    if rss > PEAK_RSS_KIB:
        errors.append(f"peak RSS {rss} KiB over {PEAK_RSS_KIB} KiB")
    if lines_out != want:
        errors.append(f"{lines_out} lines out, want {want}")
    if max_record and longest > max_record:
        errors.append(f"a record of {longest} bytes, over {max_record}")
    return [f"{label}: {e}" for e in errors]


def main():
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    binary = sys.argv[1] if len(sys.argv) > 1 else os.path.join(root, "target/release/gopanic")
    names = sys.argv[2:] or list(CASES)
    failures = []
    for name in names:
        make, args = CASES[name]
        for max_record in (None, MAX_RECORD_BYTES):
            failures += run(binary, name, make, args, max_record)
    for f in failures:
        print("FAIL", f)
    if failures:
        sys.exit(1)
    print("hostile inputs: all bounds held")


if __name__ == "__main__":
    main()
