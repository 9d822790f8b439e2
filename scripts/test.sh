#!/usr/bin/env bash
# The whole test suite, from a fresh machine: installs what the tests need,
# then builds and runs every test of the workspace (unit, fixture corpus,
# property, schema, CLI, Fluent Bit multiline rules, the .wasm filter in
# wasmtime, the Vector sidecar over loopback HTTP) and checks that the
# benchmarks compile; with VECTOR=<binary>, also the Vector configs in a
# real Vector.
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

# Vector (plugin/vector): the shipped configs in a real Vector, given as
# VECTOR=<binary> (built outside this repository); without it the tests
# print SKIP. The sidecar's own loopback tests ran above.
cargo test -p gopanic-vector --locked --test real_vector -- --ignored --nocapture
