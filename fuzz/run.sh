#!/usr/bin/env bash
# Runs every fuzz target (or those named) for a fixed time each:
#   fuzz/run.sh [SECONDS_PER_TARGET] [TARGET...]     (default 600 s, all)
# Installs what it needs (idempotently): a nightly toolchain through rustup
# and cargo-fuzz from crates.io. Seeds come from the fixture corpus
# (fuzz/seeds.py, into fuzz/corpus/<target>, kept between runs so the
# corpus grows); findings land in fuzz/artifacts/<target>/. One job per
# target (-jobs/-workers 1): the fuzzer shares the machine.
# The last line of each run (libFuzzer's `Done N runs`) and the coverage
# reached are printed at the end.
set -euo pipefail
cd "$(dirname "$0")"

seconds=${1:-600}
shift || true
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(log_pipeline json_scan filter)

rustup toolchain list | grep -q '^nightly' || rustup toolchain install nightly --profile minimal
command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --locked

python3 seeds.py corpus-seeds >/dev/null
cargo +nightly fuzz build --release
summary=()
for t in "${targets[@]}"; do
    mkdir -p "corpus/$t" "artifacts/$t" logs
    log="logs/$t.log"
    echo "== $t: ${seconds}s" >&2
    # -timeout: an input that takes this long is a finding (quadratic
    # behaviour); -rss_limit_mb: so is one that needs this much memory.
    status=0
    cargo +nightly fuzz run --release "$t" "corpus/$t" "corpus-seeds/$t" -- \
        -max_total_time="$seconds" -max_len=65536 -timeout=10 -rss_limit_mb=1024 \
        -dict="dict/$t.dict" -print_final_stats=1 \
        -artifact_prefix="artifacts/$t/" >"$log" 2>&1 || status=$?
    done_line=$(grep -E '^Done [0-9]+ runs' "$log" | tail -1 || true)
    cov=$(grep -oE 'cov: [0-9]+ ft: [0-9]+' "$log" | tail -1 || true)
    summary+=("$t: exit $status; $done_line; $cov; corpus $(find "corpus/$t" -type f | wc -l) inputs")
    if [ "$status" -ne 0 ]; then
        grep -E 'panicked at|ERROR: libFuzzer|SUMMARY' "$log" | head -5 >&2 || true
    fi
done
printf '%s\n' "${summary[@]}"
