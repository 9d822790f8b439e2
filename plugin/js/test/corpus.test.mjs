// Every fixture of the real-toolchain corpus gives, through the package,
// the same records as the native CLI: the NDJSON byte for byte, and the
// objects equal after a canonical key sort.

import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { relative } from "node:path";
import { test } from "node:test";

import { canonical, corpus, corpusLogs, gopanic, ndjsonRecords, runCli } from "./common.mjs";

const logs = corpusLogs();

// The same options as JavaScript object and as CLI flags.
const profiles = [
  { name: "default", options: undefined, flags: [], files: logs },
  { name: "ecs", options: { profile: "ecs" }, flags: ["--profile", "ecs"], files: logs },
  {
    // Small bounds: split reports, cut record parts, omitted goroutines.
    name: "bounded",
    options: { maxRecordBytes: 8192, maxGoroutines: 2, maxReportLines: 40, idleTimeoutMs: 5 },
    flags: ["--max-record-bytes", "8192", "--max-goroutines", "2", "--max-report-lines", "40", "--idle-timeout-ms", "5"],
    files: logs.filter((f) => f.endsWith("cri.log")),
  },
];

test("the corpus is there", () => {
  // 8 Go versions x 3 formats for most programs.
  assert.ok(logs.length >= 500, `only ${logs.length} corpus logs`);
});

for (const p of profiles) {
  test(`corpus, ${p.name} profile: package records = CLI records`, { timeout: 600_000 }, () => {
    let reports = 0;
    for (const file of p.files) {
      const name = relative(corpus, file);
      const bytes = readFileSync(file);
      const want = runCli(file, p.flags);

      // NDJSON: byte for byte.
      const ndjson = gopanic.reassembleNdjson(bytes, p.options);
      assert.ok(Buffer.from(ndjson, "utf8").equals(want), `${name}: NDJSON differs from the CLI`);

      // Objects, from bytes and from a string, equal after a canonical sort.
      const wantRecords = ndjsonRecords(want).map(canonical);
      const fromBytes = gopanic.reassemble(bytes, p.options).map(canonical);
      const fromString = gopanic.reassemble(bytes.toString("utf8"), p.options).map(canonical);
      assert.deepEqual(fromBytes, wantRecords, `${name}: records (bytes in)`);
      assert.deepEqual(fromString, wantRecords, `${name}: records (string in)`);
      reports += wantRecords.filter((r) => r.includes('"go":{')).length;
    }
    // A comparison of empty outputs proves nothing: the corpus is crashes.
    assert.ok(reports >= p.files.length, `only ${reports} reports in ${p.files.length} files`);
  });
}

test("records have exactly the schema's fields", () => {
  const schema = JSON.parse(readFileSync(new URL("../../../docs/record.schema.json", import.meta.url)));
  const goKeys = new Set(Object.keys(schema.$defs.go.properties));
  const file = logs.find((f) => f.includes("chatty") && f.endsWith("cri.log"));
  const records = gopanic.reassemble(readFileSync(file));
  const report = records.find((r) => r.go);
  assert.ok(report, "chatty has a report");
  for (const r of records) {
    const allowed = Object.keys(schema.$defs[r.go ? "report" : "line"].properties);
    assert.deepEqual(Object.keys(r).filter((k) => !allowed.includes(k)), []);
    // Plain objects, not class instances or Maps.
    assert.equal(Object.getPrototypeOf(r), Object.prototype);
  }
  for (const k of Object.keys(report.go)) assert.ok(goKeys.has(k), `go.${k} not in the schema`);
  assert.equal(report.go.class, "nil_dereference");
});
