#!/usr/bin/env bash
# Builds the JavaScript package and the playground:
#   plugin/js/pkg/node/        CommonJS for Node (require("gopanic"))
#   plugin/js/pkg/web/         ES module for browsers and bundlers
#   plugin/js/pkg/playground/  the static playground, ready to serve
# and prints the .wasm size (raw and gzipped); fails over the budget.
# Installs what it needs from the registries: the wasm32 target (rustup)
# and wasm-bindgen-cli at the exact version of Cargo.lock (cargo).
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$PWD
js=$root/plugin/js
budget_gz=$((150 * 1024))

rustup target list --installed 2>/dev/null | grep -qx wasm32-unknown-unknown \
    || rustup target add wasm32-unknown-unknown

# The generated glue must come from the same version as the crate.
wb_version=$(awk '/^name = "wasm-bindgen"$/ { getline; gsub(/version = |"/, ""); print; exit }' Cargo.lock)
if [ "$(wasm-bindgen --version 2>/dev/null)" != "wasm-bindgen $wb_version" ]; then
    cargo install wasm-bindgen-cli --version "$wb_version" --locked >&2
fi

# Own target dir: the Fluent Bit module builds the core with other settings.
# opt-level "z": 144 KB gzipped, against 158 KB at "s" and more at 3
# (budget 150 KB); wasm-opt (binaryen 108) made the module larger.
CARGO_PROFILE_RELEASE_OPT_LEVEL=z CARGO_PROFILE_RELEASE_STRIP=true \
    cargo build --release --locked -p gopanic-js \
    --target wasm32-unknown-unknown --target-dir target/js >&2
wasm=$root/target/js/wasm32-unknown-unknown/release/gopanic_js.wasm

rm -rf "$js/pkg"
for target in nodejs web; do
    out=$js/pkg/${target%js}
    wasm-bindgen --target "$target" --out-dir "$out" "$wasm"
done

# The playground: its own files, the web build, and examples from the
# fixture corpus (real Go output).
pg=$js/pkg/playground
mkdir -p "$pg/examples"
cp "$js"/playground/* "$pg/"
cp -r "$js/pkg/web" "$pg/gopanic"
node -e '
const [corpus, dir, list] = process.argv.slice(1);
for (const e of require(list)) require("fs").copyFileSync(`${corpus}/${e.source}`, `${dir}/${e.file}`);
' "$root/tests/fixtures/corpus" "$pg/examples" "$js/playground/examples.json"

size=$(stat -c %s "$js/pkg/web/gopanic_js_bg.wasm")
gz=$(gzip -9 -c "$js/pkg/web/gopanic_js_bg.wasm" | wc -c)
echo "gopanic_js_bg.wasm: $size bytes, $gz bytes gzipped (budget $budget_gz)" >&2
if [ "$gz" -gt "$budget_gz" ]; then
    echo "over the size budget" >&2
    exit 1
fi
