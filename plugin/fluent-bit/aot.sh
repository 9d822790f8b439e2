#!/usr/bin/env bash
# Compiles the filter module ahead of time for one Fluent Bit build, and
# checks that this Fluent Bit loads it:
#
#   FLB_WAMRC=/path/to/flb-wamrc FLUENT_BIT=/path/to/fluent-bit \
#       plugin/fluent-bit/aot.sh [--target x86_64|aarch64] [--out FILE]
#
# flb-wamrc is the AOT compiler of the same Fluent Bit source tree (its
# cmake option FLB_WAMRC; see README.md): a WAMR AOT object loads only in
# the WAMR version, and on the architecture, it was compiled for. Fluent Bit
# tells a bytecode module from an AOT object by its first bytes, so
# WASM_Path may name either; the portable .wasm stays the fallback.
#
# The check runs the given Fluent Bit for a few seconds on a dummy record
# through the AOT object: a mismatched object makes Fluent Bit log "AOT
# module load failed" and refuse to start, which this script reports.
set -euo pipefail
cd "$(dirname "$0")/../.."
target=""
out=""
while [ $# -gt 0 ]; do
    case "$1" in
        --target) target="$2"; shift 2 ;;
        --out) out="$2"; shift 2 ;;
        *) echo "unknown argument $1" >&2; exit 2 ;;
    esac
done
: "${FLB_WAMRC:?set FLB_WAMRC to the flb-wamrc of your Fluent Bit build}"
wasm=$(plugin/fluent-bit/build.sh)
arch=${target:-$(uname -m)}
if [ -n "${FLUENT_BIT:-}" ]; then
    version=$("$FLUENT_BIT" --version | sed -n 's/^Fluent Bit v\([0-9.]*\).*/\1/p' | head -1)
else
    version=unknown
fi
out=${out:-target/wasm/gopanic-fluent-bit-$version-$arch.aot}
"$FLB_WAMRC" ${target:+--target=$target} -o "$out" "$wasm" >&2
echo "$out"

if [ -z "${FLUENT_BIT:-}" ] || [ -n "$target" ] && [ "$target" != "$(uname -m)" ]; then
    echo "not checked: set FLUENT_BIT to a Fluent Bit of this architecture to check the object loads" >&2
    exit 0
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cat > "$work/check.conf" <<CONF
[SERVICE]
    Flush      1
    Log_Level  info
[INPUT]
    Name     dummy
    Tag      app.check
    Dummy    {"log":"hello"}
    Samples  1
[FILTER]
    Name              wasm
    Match             *
    WASM_Path         $PWD/$out
    Function_Name     gopanic_reassemble
    Accessible_Paths  $work
[OUTPUT]
    Name   file
    Match  *
    Path   $work
    File   out.txt
CONF
timeout 8 "$FLUENT_BIT" -c "$work/check.conf" > "$work/log.txt" 2>&1 || true
if grep -q '"log":"hello"' "$work/out.txt" 2>/dev/null && ! grep -q "failed" "$work/log.txt"; then
    echo "checked: Fluent Bit $version loads $out and passes a record through it" >&2
else
    grep -E "error|failed" "$work/log.txt" >&2 || true
    echo "MISMATCH: Fluent Bit $version did not load $out" >&2
    exit 1
fi
