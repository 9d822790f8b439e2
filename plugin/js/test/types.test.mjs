// The TypeScript declarations: a strict compile of typical use passes, and
// typical mistakes are reported, each on its own line.

import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";

import { pkgDir, root } from "./common.mjs";

const tsc = join(pkgDir, "node_modules", "typescript", "bin", "tsc");
// esnext: the generated class implements Symbol.dispose.
const flags = ["--noEmit", "--strict", "--module", "nodenext", "--moduleResolution", "nodenext", "--target", "es2022", "--lib", "esnext"];

function compile(file) {
  const r = spawnSync(process.execPath, [tsc, ...flags, join(pkgDir, "test", "types", file)], { encoding: "utf8" });
  return { status: r.status, errors: r.stdout.split("\n").filter((l) => l.includes("error TS")) };
}

test("typical use compiles under --strict", () => {
  const r = compile("usage.ts");
  assert.deepEqual(r.errors, []);
  assert.equal(r.status, 0);
});

test("mistakes are type errors", () => {
  const r = compile("misuse.ts");
  const lines = r.errors.map((e) => Number(e.match(/\((\d+),\d+\)/)[1]));
  assert.deepEqual(lines, [5, 6, 7, 8, 9], r.errors.join("\n"));
});

// The declarations name every member the record schemas name: a field the
// core adds must reach TypeScript users too.
test("declared members match the record schemas", () => {
  const dts = readFileSync(join(pkgDir, "pkg", "node", "gopanic_js.d.ts"), "utf8");
  const members = (name) => {
    const start = dts.indexOf(`export interface ${name} {`);
    assert.ok(start >= 0, `interface ${name} missing`);
    const names = new Set();
    // Members at the interface's own level only (not inside inline types):
    // the text at depth 1 between separators, up to its `:`.
    let depth = 0;
    let level1 = "";
    for (const c of dts.slice(dts.indexOf("{", start))) {
      if (c === "{" || c === "(" || c === "<" || c === "[") depth++;
      if (c === "}" || c === ")" || c === ">" || c === "]") depth--;
      if (depth === 0) break;
      if (depth === 1 && c !== "{") level1 += c;
      else if (depth === 2 && c === "{") level1 += ";";
    }
    for (const part of level1.split(/[;\n]/)) {
      const m = part.match(/^\s*(?:\/\*\*.*?\*\/\s*)?(\w+)\??:/);
      if (m) names.add(m[1]);
    }
    return names;
  };
  const schemaDefs = (file) => JSON.parse(readFileSync(join(root, "docs", file), "utf8")).$defs;
  const keys = (def) => Object.keys(def.properties).sort();
  for (const file of ["record.schema.json", "record-ecs.schema.json"]) {
    const defs = schemaDefs(file);
    const pairs = { go: "GoFields", signal: "GoSignal", panic: "GoPanic", frame: "GoFrame", goroutine: "GoGoroutine", bucket: "GoBucket", race: "GoRace" };
    for (const [def, iface] of Object.entries(pairs)) {
      assert.deepEqual([...members(iface)].sort(), keys(defs[def]), `${iface} vs ${file} $defs.${def}`);
    }
    const record = members("GoRecord");
    for (const def of ["line", "report"]) {
      const missing = keys(defs[def]).filter((k) => !record.has(k));
      assert.deepEqual(missing, [], `GoRecord lacks members of ${file} $defs.${def}`);
    }
  }
});
