// Bad input returns records or throws an Error with a message: never a
// wasm trap, never a hang (each test has a timeout), never a lost line.

import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";

import { gopanic, linesIn, runCli } from "./common.mjs";

const { Reassembler, enrich, parse, reassemble, reassembleNdjson } = gopanic;
const MiB = 1 << 20;
const scratch = mkdtempSync(join(tmpdir(), "gopanic-js-"));
after(() => rmSync(scratch, { recursive: true, force: true }));

/** Deterministic bytes (xorshift32), so a failure can be replayed. */
function garbage(n, seed) {
  const out = new Uint8Array(n);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    out[i] = x & 0xff;
  }
  return out;
}

function lineCount(bytes) {
  let n = 0;
  for (const b of bytes) if (b === 0x0a) n++;
  return bytes.length && bytes[bytes.length - 1] !== 0x0a ? n + 1 : n;
}

/** The CLI's output for these bytes (as a file). */
function cliOn(bytes, name) {
  const file = join(scratch, name);
  writeFileSync(file, bytes);
  return runCli(file);
}

/** A thrown value is an Error with a message, not a WebAssembly trap. */
function assertError(fn, pattern) {
  assert.throws(fn, (e) => {
    assert.ok(e instanceof Error, `not an Error: ${e}`);
    assert.ok(!(e instanceof WebAssembly.RuntimeError), `a wasm trap: ${e.message}`);
    assert.match(e.message, pattern);
    return true;
  });
}

test("binary garbage: every line kept, same as the CLI", { timeout: 120_000 }, () => {
  for (const seed of [1, 2, 3]) {
    // Garbage with some Go crash lines mixed in, so reports open and break.
    const parts = [];
    for (let i = 0; i < 64; i++) {
      parts.push(garbage(4096, seed * 1000 + i));
      parts.push(Buffer.from("\npanic: boom\n\ngoroutine 1 [running]:\nmain.main()\n"));
    }
    const bytes = Buffer.concat(parts);
    const records = reassemble(bytes);
    assert.equal(linesIn(records), lineCount(bytes));
    assert.ok(records.some((r) => r.go), "crash lines inside garbage are still found");
    assert.ok(Buffer.from(reassembleNdjson(bytes), "utf8").equals(cliOn(bytes, `garbage-${seed}.log`)));
  }
});

test("invalid UTF-8 is replaced as the CLI does, in bytes and strings", () => {
  const bytes = Buffer.concat([
    Buffer.from("ok\n"),
    Buffer.from([0xff, 0xfe, 0x20, 0x62, 0x61, 0x64, 0x0a]), // ff fe " bad"
    Buffer.from([0xe2, 0x82, 0x0a]), // truncated 3-byte sequence
    Buffer.from([0xc0, 0xaf, 0x0a]), // overlong "/"
    Buffer.from("panic: caf\xc3\xa9 \xed\xa0\x80\n", "latin1"), // surrogate half
    Buffer.from("\ngoroutine 1 [running]:\nmain.main()\n\t/app/main.go:5 +0x25\nlast"),
  ]);
  const records = reassemble(bytes);
  assert.equal(records[1].log, "\ufffd\ufffd bad");
  assert.equal(linesIn(records), lineCount(bytes));
  assert.ok(Buffer.from(reassembleNdjson(bytes), "utf8").equals(cliOn(bytes, "utf8.log")));
  // A JavaScript string with lone surrogates: replaced, not rejected.
  const lone = reassemble("a\ud800b\nc\udfff\n");
  assert.deepEqual(lone.map((r) => r.log), ["a\ufffdb", "c\ufffd"]);
});

test("10 MB lines: plain, inside a report, CRI partial chunks, docker", { timeout: 300_000 }, () => {
  // A line over maxLineBytes (4 MiB) is cut as it streams in: pieces of
  // at most 4 MiB, each but the last marked `continued`, no text lost.
  const big = "x".repeat(10 * MiB);
  let records = reassemble(big);
  assert.deepEqual(records.map((r) => r.log.length), [4 * MiB, 4 * MiB, 2 * MiB]);
  assert.deepEqual(records.map((r) => r.continued === true), [true, true, false]);
  assert.equal(records.map((r) => r.log).join(""), big);

  records = reassemble(`panic: ${big}\n\ngoroutine 1 [running]:\nmain.main()\n\t/app/main.go:5 +0x25\n`);
  assert.equal(linesIn(records), 5 + 2);
  assert.ok(records.some((r) => r.go));

  // 10 MB in 16 KiB CRI chunks: merged up to maxLineBytes (4 MiB), then
  // left in pieces; no text lost.
  const chunk = "y".repeat(16 * 1024);
  const cri = [];
  for (let i = 0; i < 640; i++) cri.push(`2026-11-27T06:51:01.${String(i).padStart(9, "0")}Z stderr P ${chunk}`);
  cri.push("2026-11-27T06:51:02Z stderr F end");
  records = reassemble(cri.join("\n"));
  assert.equal(records.map((r) => r.log).join(""), chunk.repeat(640) + "end");
  assert.ok(records.every((r) => r.log.length <= 4 * MiB + chunk.length));

  const docker = JSON.stringify({ log: `${big}\n`, stream: "stderr", time: "2026-11-27T06:51:01Z" });
  // No runtime writes a docker line this long (they split at 16 KiB). Given
  // whole, it is decoded, then its text is cut: every piece keeps the
  // line's time and stream. (Read as a stream, as the CLI reads a file, a
  // line past the bound is cut before it ends, so its raw JSON leaves as
  // plain-text pieces; either way no byte is lost.)
  records = reassemble(docker);
  assert.deepEqual(records.map((r) => r.log.length), [4 * MiB, 4 * MiB, 2 * MiB]);
  assert.ok(records.every((r) => r.stream === "stderr" && r.time === "2026-11-27T06:51:01Z"));
  assert.deepEqual(records.map((r) => r.continued === true), [true, true, false]);
  assert.equal(records.map((r) => r.log).join(""), big);
});

test("pathological lines: deep JSON, NULs, a million empty lines", { timeout: 120_000 }, () => {
  const deep = `{"log":${"[".repeat(1_000_000)}`;
  let records = reassemble(deep);
  assert.deepEqual(records.map((r) => r.log), [deep]);
  records = reassemble("\0\0\0\npanic: \0\n\0");
  assert.equal(linesIn(records), 3);
  records = reassemble("\n".repeat(1_000_000));
  assert.equal(records.length, 1_000_000);
  records = reassemble("goroutine 1 [running]:\n".repeat(100_000));
  assert.equal(linesIn(records), 100_000);
});

test("bad arguments throw Errors with messages; the module keeps working", () => {
  assertError(() => reassemble(42), /string or a Uint8Array/);
  assertError(() => reassemble(null), /string or a Uint8Array/);
  assertError(() => reassemble("x", { fromat: "cri" }), /unknown field `fromat`/);
  assertError(() => reassemble("x", { format: "xml" }), /unknown format/);
  assertError(() => reassemble("x", { maxReportBytes: -1 }), /invalid options/);
  assertError(() => reassemble("x", "cri"), /options must be an object/);
  assertError(() => new Reassembler({ profile: "loki" }), /unknown profile/);
  const r = new Reassembler();
  assertError(() => r.push("x", { time: "yesterday" }), /RFC 3339/);
  assertError(() => r.push("x", { steam: "stderr" }), /unknown field `steam`/);
  assertError(() => r.tick(Number.NaN), /finite/);
  assertError(() => parse("GET / 200"), /no Go crash report/);
  assertError(() => enrich("panic: x"), /must be an object/);
  assertError(() => enrich([1, 2]), /must be an object/);
  const cyclic = { log: "panic: x" };
  cyclic.self = cyclic;
  assertError(() => enrich(cyclic), /not serialisable/);
  // Still usable after every error.
  assert.equal(reassemble("panic: boom")[0].go.class, "custom_panic");
  assert.deepEqual(r.push("fine").map((x) => x.log), ["fine"]);
  assert.deepEqual(r.finish(), []);
});

test("parse and enrich on reports and non-reports", () => {
  const text = "panic: runtime error: index out of range [5] with length 3\n\ngoroutine 1 [running]:\nmain.main()\n\t/app/main.go:9 +0x1d\n";
  const crash = parse(text);
  assert.equal(crash.class, "index_out_of_range");
  assert.equal(crash.goroutines[0].frames[0].function, "main.main");
  const record = { log: text, kubernetes: { pod_name: "api-1" } };
  const enriched = enrich(record);
  assert.equal(enriched.go.class, "index_out_of_range");
  assert.equal(enriched.go.fingerprint, crash.fingerprint);
  assert.equal(enriched.level, "fatal");
  assert.deepEqual(enriched.kubernetes, { pod_name: "api-1" });
  // As the Fluent Bit filter: a record without a report comes back as is.
  const plain = { log: "GET / 200", n: 1 };
  assert.equal(enrich(plain), plain);
  assert.equal(enrich({ message: text }, { profile: "ecs" }).error.type, "index_out_of_range");
});
