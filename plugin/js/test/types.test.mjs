// The TypeScript declarations: a strict compile of typical use passes, and
// typical mistakes are reported, each on its own line.

import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { test } from "node:test";

import { pkgDir } from "./common.mjs";

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
