#!/usr/bin/env bash
# Streams a large CRI log through the release CLI and reports throughput and
# peak memory (max RSS), to show that memory stays flat as input grows.
#
#   benches/cli_stream.sh [GIB]   (default 2)
#
# The input is the fixture corpus's CRI logs (real crash reports and the
# ordinary lines around them) concatenated to ~64 MiB, then repeated to the
# requested size through a pipe, so nothing but the CLI holds it in memory.
set -euo pipefail
cd "$(dirname "$0")/.."
gib=${1:-2}
cargo build --release -q -p gopanic-cli
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
chunk="$work/chunk.log"
while [ "$(stat -c %s "$chunk" 2>/dev/null || echo 0)" -lt $((64 << 20)) ]; do
    cat tests/fixtures/corpus/*/*/cri.log >> "$chunk"
done
chunk_bytes=$(stat -c %s "$chunk")
copies=$(( (gib << 30) / chunk_bytes ))
[ "$copies" -ge 1 ] || copies=1
run() { # $1 = copies
    local start end
    start=$(date +%s.%N)
    for _ in $(seq "$1"); do cat "$chunk"; done |
        /usr/bin/time -f "%M" -o "$work/rss" ./target/release/gopanic --stats > /dev/null 2> "$work/stats"
    end=$(date +%s.%N)
    local mib=$(( $1 * chunk_bytes >> 20 ))
    awk -v mib="$mib" -v s="$start" -v e="$end" -v rss="$(cat "$work/rss")" -v st="$(tail -n1 "$work/stats")" \
        'BEGIN { printf "%6d MiB in %6.2f s = %7.1f MiB/s, max RSS %6d KiB  (%s)\n", mib, e - s, mib / (e - s), rss, st }'
}
run 1
run "$copies"
