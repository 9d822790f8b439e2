#!/usr/bin/env bash
# The whole test suite, from a fresh machine: installs what the tests need,
# then builds and runs every test of the workspace (unit, fixture corpus,
# property, CLI) and checks that the benchmarks compile.
set -euo pipefail
cd "$(dirname "$0")/.."

# Rust is the machine's own (rustup); clippy is part of its default profile.
command -v cargo >/dev/null || { echo "cargo not found: install Rust with rustup" >&2; exit 1; }

cargo build --release --workspace --locked
cargo test --workspace --locked
cargo bench --workspace --locked --no-run
cargo clippy --workspace --all-targets --locked -- -D warnings
