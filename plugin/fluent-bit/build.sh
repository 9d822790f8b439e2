#!/usr/bin/env bash
# Builds the filter module and prints its path:
#   target/wasm/wasm32-unknown-unknown/release/gopanic_fluent_bit.wasm
# opt-level "s" (not the workspace's 3): the interpreter's stack need drops
# from 6272 to 4800 bytes under WAMR (see README.md); strip: no name section.
set -euo pipefail
cd "$(dirname "$0")/../.."
rustup target list --installed 2>/dev/null | grep -qx wasm32-unknown-unknown \
    || rustup target add wasm32-unknown-unknown
CARGO_PROFILE_RELEASE_OPT_LEVEL=s CARGO_PROFILE_RELEASE_STRIP=true \
    cargo build --release --locked -p gopanic-fluent-bit \
    --target wasm32-unknown-unknown --target-dir target/wasm >&2
echo "$PWD/target/wasm/wasm32-unknown-unknown/release/gopanic_fluent_bit.wasm"
