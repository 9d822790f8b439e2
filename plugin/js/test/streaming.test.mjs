// The streaming Reassembler and the whole-text call agree, and a live tail
// gets its report when the clock says it is complete.

import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { relative } from "node:path";
import { test } from "node:test";

import { canonical, corpus, corpusLogs, gopanic } from "./common.mjs";

const { Reassembler, reassemble } = gopanic;
const logs = corpusLogs();

function lines(text) {
  const ls = text.split("\n");
  if (ls[ls.length - 1] === "") ls.pop();
  return ls;
}

test("raw lines pushed one by one give the whole-text records", { timeout: 600_000 }, () => {
  for (const file of logs) {
    const text = readFileSync(file, "utf8");
    const r = new Reassembler();
    const got = [];
    for (const line of lines(text)) got.push(...r.push(line));
    got.push(...r.finish());
    const want = reassemble(text);
    assert.deepEqual(got.map(canonical), want.map(canonical), relative(corpus, file));
    assert.equal(r.stats.recordsOut, want.length);
    assert.equal(r.stats.linesIn, lines(text).length);
    r.free();
  }
});

test("a chunk of several lines is pushed line by line", () => {
  const file = logs.find((f) => f.includes("chatty") && f.endsWith("docker.log"));
  const text = readFileSync(file, "utf8");
  const r = new Reassembler();
  const got = [...r.push(text), ...r.finish()];
  assert.deepEqual(got.map(canonical), reassemble(text).map(canonical));
});

test("lines decoded by the caller (meta) give the same records", { timeout: 600_000 }, () => {
  let tested = 0;
  for (const file of logs.filter((f) => f.endsWith("cri.log"))) {
    const text = readFileSync(file, "utf8");
    const raw = lines(text);
    // CRI: `<time> <stream> <F|P> <text>`; partial lines are the decoder's
    // business, so only files without them are decoded here.
    const parsed = raw.map((l) => l.match(/^(\S+) (stdout|stderr) ([FP])(?::\S*)? (.*)$/s) ?? l.match(/^(\S+) (stdout|stderr) ([FP])()$/));
    if (parsed.some((m) => !m || m[3] !== "F")) continue;
    const r = new Reassembler();
    const got = [];
    for (const [, time, stream, , line] of parsed) got.push(...r.push(line, { stream, time }));
    got.push(...r.finish());
    assert.deepEqual(got.map(canonical), reassemble(text).map(canonical), relative(corpus, file));
    tested++;
  }
  assert.ok(tested >= 150, `only ${tested} CRI files without partial lines`);
});

test("a live tail: tick closes a quiet report, finish the rest", () => {
  const r = new Reassembler({ idleTimeoutMs: 1000 });
  const t0 = Date.parse("2026-11-27T06:51:01Z");
  const at = (ms) => new Date(t0 + ms).toISOString();
  const report = ["panic: boom", "", "goroutine 1 [running]:", "main.main()", "\t/app/main.go:5 +0x25"];
  const out = [];
  report.forEach((l, i) => out.push(...r.push(l, { stream: "stderr", time: at(i) })));
  out.push(...r.push("listening on :8080", { stream: "stdout", time: at(10) }));
  assert.deepEqual(out.map((x) => x.log), ["listening on :8080"]);
  assert.deepEqual(r.tick(t0 + 500), [], "not idle yet");
  const closed = r.tick(t0 + 4 + 1000);
  assert.equal(closed.length, 1);
  assert.equal(closed[0].go.class, "custom_panic");
  assert.equal(closed[0].time, at(0));
  assert.equal(closed[0].go.lines, 5);
  // Plain lines (no meta) take the clock's time; finish closes them.
  r.push("fatal error: all goroutines are asleep - deadlock!");
  const last = r.finish();
  assert.equal(last.length, 1);
  assert.equal(last[0].go.class, "deadlock");
  assert.deepEqual(r.stats, { linesIn: 7, malformed: 0, recordsOut: 3, reportParts: 2, reports: 2 });
});

test("ECS profile and bounds apply to the stream too", () => {
  const file = logs.find((f) => f.includes("sigquit") && f.endsWith("cri.log"));
  const text = readFileSync(file, "utf8");
  const options = { profile: "ecs", maxGoroutines: 1 };
  const r = new Reassembler(options);
  const got = [...lines(text).flatMap((l) => r.push(l)), ...r.finish()];
  const want = reassemble(text, options);
  assert.deepEqual(got.map(canonical), want.map(canonical));
  const report = got.find((x) => x.go);
  assert.equal(report.log.level, "fatal");
  assert.equal(report.go.class, "goroutine_dump");
  assert.equal(typeof report.message, "string");
  assert.equal(report.go.goroutines.length, 1);
});
