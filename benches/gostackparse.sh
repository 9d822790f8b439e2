#!/usr/bin/env bash
# gopanic beside DataDog's gostackparse on the same goroutine dump, in one
# run, alternating the tools round by round so both see the same machine
# load:
#
#   GOSTACKPARSE_SRC=<checkout of github.com/DataDog/gostackparse> \
#       benches/gostackparse.sh [DUMP] [ROUNDS] [ITERATIONS]
#
# DUMP defaults to the corpus's busy_server dump (real Go 1.24 output of a
# server with 3,000 goroutines, GOTRACEBACK=all). Each tool measures its own
# CPU time (not wall time, so other load on the machine does not count).
# Reported per tool: MiB per CPU second, median over the rounds; then the
# ratios
# parse-only : parse-only and gopanic's full path (decode, reassemble,
# parse, classify, JSON records) : gostackparse's parse-only.
#
# gostackparse is not part of this repository: gostackparse.go is copied
# from the given checkout into a throwaway module beside
# benches/gostackparse/main.go and built with the `go` on PATH (or $GO).
# Without GOSTACKPARSE_SRC only gopanic's figures are printed.
set -euo pipefail
cd "$(dirname "$0")/.."
dump=${1:-tests/fixtures/corpus/busy_server/go1.24/plain.log}
rounds=${2:-5}
iters=${3:-20}

cargo build --release -q --example dump_throughput
ours=target/release/examples/dump_throughput

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
theirs=
if [ -n "${GOSTACKPARSE_SRC:-}" ]; then
    go=${GO:-go}
    mkdir -p "$work/mod/gostackparse"
    cp "$GOSTACKPARSE_SRC/gostackparse.go" "$work/mod/gostackparse/"
    cp benches/gostackparse/main.go "$work/mod/"
    printf 'module bench\n\ngo 1.19\n' > "$work/mod/go.mod"
    (cd "$work/mod" && GOFLAGS=-mod=mod GOPROXY=off "$go" build -trimpath -o "$work/gostackparse-bench" .)
    theirs="$work/gostackparse-bench"
    echo "gostackparse $(git -C "$GOSTACKPARSE_SRC" rev-parse --short HEAD 2>/dev/null || echo '(not a git checkout)'), $("$go" version)"
else
    echo "gostackparse: SKIPPED (set GOSTACKPARSE_SRC to a checkout of github.com/DataDog/gostackparse)"
fi

for r in $(seq "$rounds"); do
    [ -z "$theirs" ] || "$theirs" "$dump" "$iters" >> "$work/results"
    "$ours" "$dump" "$iters" parse >> "$work/results"
    "$ours" "$dump" "$iters" emit >> "$work/results"
done

python3 - "$work/results" "$dump" "$rounds" "$iters" <<'PY'
import json, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
print(f"dump {sys.argv[2]} ({rows[0]['bytes']:,} bytes), {sys.argv[3]} rounds x {sys.argv[4]} iterations")
mib = {}
for key in [("gostackparse", "parse"), ("gopanic", "parse"), ("gopanic", "emit")]:
    xs = [r["mib_s"] for r in rows if (r["tool"], r["mode"]) == key]
    if xs:
        mib[key] = statistics.median(xs)
        print(f"  {key[0]:13} {key[1]:6} {mib[key]:8.1f} MiB/s CPU (rounds: {', '.join(f'{x:.0f}' for x in xs)})")
g = mib.get(("gostackparse", "parse"))
if g:
    print(f"  gopanic parse / gostackparse parse = {mib[('gopanic', 'parse')] / g:.2f}x")
    print(f"  gopanic decode+reassemble+parse+emit / gostackparse parse = {mib[('gopanic', 'emit')] / g:.2f}x")
PY
