#!/usr/bin/env bash
# Streams a large log through the release CLI and reports throughput (by
# wall clock and by the CLI's own user+system CPU time, which the machine's
# other load does not inflate) and peak memory (max RSS).
#
#   benches/cli_stream.sh [GIB]          the mixed corpus (default 2 GiB)
#   benches/cli_stream.sh --dense [GIB]  dense GOTRACEBACK=all dumps (default 1)
#
# Mixed: the fixture corpus's CRI logs (real crash reports and the ordinary
# lines around them) concatenated to ~64 MiB. Dense: the busy_server fixture
# (a 3,000-goroutine GOTRACEBACK=all dump in CRI lines), repeated. The chunk
# is then repeated to the requested size through a pipe, so nothing but the
# CLI holds it in memory.
#
# BASELINE=<another gopanic binary> runs that binary on the same input right
# after, for a side-by-side comparison (e.g. one built from an older commit
# with `cargo build --release -p gopanic-cli --target-dir <dir>`).
set -euo pipefail
cd "$(dirname "$0")/.."
sources=(tests/fixtures/corpus/*/*/cri.log)
gib=2
if [ "${1:-}" = --dense ]; then
    sources=(tests/fixtures/corpus/busy_server/go1.24/cri.log)
    gib=1
    shift
fi
gib=${1:-$gib}
cargo build --release -q -p gopanic-cli
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
chunk="$work/chunk.log"
while [ "$(stat -c %s "$chunk" 2>/dev/null || echo 0)" -lt $((64 << 20)) ]; do
    cat "${sources[@]}" >> "$chunk"
done
chunk_bytes=$(stat -c %s "$chunk")
copies=$(( (gib << 30) / chunk_bytes ))
[ "$copies" -ge 1 ] || copies=1
run() { # $1 = binary, $2 = copies
    local start end
    start=$(date +%s.%N)
    for _ in $(seq "$2"); do cat "$chunk"; done |
        /usr/bin/time -f "%M %U %S" -o "$work/time" "$1" --stats > /dev/null 2> "$work/stats"
    end=$(date +%s.%N)
    read -r rss user sys < "$work/time"
    awk -v bin="$1" -v bytes="$(( $2 * chunk_bytes ))" -v s="$start" -v e="$end" -v user="$user" -v sys="$sys" \
        -v rss="$rss" -v st="$(tail -n1 "$work/stats")" \
        'BEGIN { mb = bytes / 1e6; cpu = user + sys; printf "%-28s %6d MB in %6.2f s = %7.1f MB/s wall, %7.1f MB/s of CPU (%.2f s), max RSS %6d KiB  (%s)\n", bin, mb, e - s, mb / (e - s), mb / cpu, cpu, rss, st }'
}
for copies_now in 1 "$copies"; do
    run ./target/release/gopanic "$copies_now"
    [ -z "${BASELINE:-}" ] || run "$BASELINE" "$copies_now"
done
