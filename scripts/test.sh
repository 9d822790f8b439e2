#!/usr/bin/env bash
# The whole test suite, from a fresh machine: installs what the tests need,
# then builds and runs every test of the workspace (unit, fixture corpus,
# property, schema, CLI, Fluent Bit multiline rules, the .wasm filter in
# wasmtime, the JavaScript package in Node, the playground in headless
# Chromium) and checks that the benchmarks compile.
set -euo pipefail
cd "$(dirname "$0")/.."

# Rust is the machine's own (rustup); clippy is part of its default profile.
command -v cargo >/dev/null || { echo "cargo not found: install Rust with rustup" >&2; exit 1; }

cargo build --release --workspace --locked
cargo test --workspace --locked
cargo bench --workspace --locked --no-run
cargo clippy --workspace --all-targets --locked -- -D warnings

# Fluent Bit wasm filter (plugin/fluent-bit): build the .wasm (build.sh
# installs the wasm32-unknown-unknown target if missing; the host-faithful
# tests above build it the same way) and lint it for its own target.
./plugin/fluent-bit/build.sh
cargo clippy -p gopanic-fluent-bit --target wasm32-unknown-unknown --target-dir target/wasm --locked -- -D warnings

# The shipped Fluent Bit config in a real Fluent Bit, when one is given
# (FLUENT_BIT=<binary>); without it the script says it skipped.
python3 tests/real-hosts/fluent_bit.py

# JavaScript package and playground (plugin/js): build.sh installs the
# wasm32 target and wasm-bindgen-cli at Cargo.lock's version; Node runs the
# package tests (against the release CLI built above); Debian's Chromium,
# driven by playwright-core from the committed lockfile, runs the
# playground tests and leaves a screenshot in target/playground.png.
apt_install() {
    local run=()
    [ "$(id -u)" -eq 0 ] || run=(sudo)
    "${run[@]}" apt-get update -qq
    DEBIAN_FRONTEND=noninteractive "${run[@]}" apt-get install -y -qq "$@"
}
command -v node >/dev/null && command -v npm >/dev/null || apt_install nodejs npm
command -v chromium >/dev/null || apt_install chromium
./plugin/js/build.sh
cargo clippy -p gopanic-js --target wasm32-unknown-unknown --target-dir target/js --locked -- -D warnings
(
    cd plugin/js
    npm ci --no-audit --no-fund
    node --test test/*.test.mjs
    node --test browser-test/
)
