// Shared by the Node tests: the built package, the fixture corpus and the
// native CLI to compare with.

import { execFileSync } from "node:child_process";
import { existsSync, readdirSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";

export const here = dirname(fileURLToPath(import.meta.url));
export const pkgDir = join(here, "..");
export const root = join(pkgDir, "..", "..");
export const corpus = join(root, "tests", "fixtures", "corpus");

const pkgMain = join(pkgDir, "pkg", "node", "gopanic_js.js");
if (!existsSync(pkgMain)) {
  throw new Error(`${relative(root, pkgMain)} is missing: run plugin/js/build.sh first`);
}
/** The package as Node users load it (`require("gopanic")`). */
export const gopanic = createRequire(import.meta.url)(pkgMain);

/** The native CLI built by `cargo build --release` (or GOPANIC_CLI). */
export const cli = process.env.GOPANIC_CLI || join(root, "target", "release", "gopanic");
if (!existsSync(cli)) {
  throw new Error(`${cli} is missing: run cargo build --release -p gopanic-cli first`);
}

/** Runs the CLI on one file; its stdout as bytes. */
export function runCli(file, args = []) {
  return execFileSync(cli, [...args, file], { maxBuffer: 1 << 30 });
}

/** Every log file of the corpus (cri, docker, plain per run), sorted. */
export function corpusLogs() {
  const out = [];
  const walk = (dir) => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const p = join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.name.endsWith(".log")) out.push(p);
    }
  };
  walk(corpus);
  return out.sort();
}

/** A value with every object's keys sorted, as JSON: the canonical form. */
export function canonical(value) {
  return JSON.stringify(sortKeys(value));
}

function sortKeys(v) {
  if (Array.isArray(v)) return v.map(sortKeys);
  if (v && typeof v === "object") {
    return Object.fromEntries(
      Object.keys(v)
        .sort()
        .map((k) => [k, sortKeys(v[k])]),
    );
  }
  return v;
}

/** NDJSON bytes as records. */
export function ndjsonRecords(bytes) {
  const text = Buffer.isBuffer(bytes) ? bytes.toString("utf8") : bytes;
  return text
    .split("\n")
    .filter((l) => l !== "")
    .map((l) => JSON.parse(l));
}

/** The lines of a record stream, each input line counted once. */
export function linesIn(records) {
  return records.reduce((n, r) => n + (r.go ? r.go.lines : 1), 0);
}
