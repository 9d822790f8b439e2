// Time to process a 10 MB log: the package in Node, the playground in
// headless Chromium (core call, and until the page shows the result), and
// the native CLI for reference; plus the .wasm size. A measurement, not a
// test: run `node bench/bench.mjs` after build.sh.
//
// Two logs: a service log (the `chatty` fixture: an app and a log shipper
// writing, one nil-dereference crash per 97 lines) repeated to 10 MB, and a
// crash-dense one (every CRI log of the corpus, repeated).

import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

import { launch, executablePath } from "../browser-test/browser.mjs";
import { serve } from "../browser-test/server.mjs";
import { cli, corpus, corpusLogs, gopanic, pkgDir } from "../test/common.mjs";

const SIZE = 10 << 20;
const RUNS = 5;

function repeatTo(text) {
  let out = "";
  while (out.length < SIZE) out += text;
  return out;
}

const logs = {
  service: repeatTo(readFileSync(join(corpus, "chatty/go1.24/cri.log"), "utf8")),
  "crash-dense": repeatTo(corpusLogs().filter((f) => f.endsWith("cri.log")).map((f) => readFileSync(f, "utf8")).join("")),
};

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const mb = (n) => `${(n / (1 << 20)).toFixed(1)} MiB`;

function timeNode(fn) {
  fn(); // warm-up: compile and grow memory
  const wall = [];
  const cpu = [];
  for (let i = 0; i < RUNS; i++) {
    const c = process.cpuUsage();
    const t = performance.now();
    fn();
    wall.push(performance.now() - t);
    const u = process.cpuUsage(c);
    cpu.push((u.user + u.system) / 1000);
  }
  return { wall: median(wall), cpu: median(cpu) };
}

// Sized as build.sh sizes it: gzip -9.
const wasmFile = join(pkgDir, "pkg", "web", "gopanic_js_bg.wasm");
const gz = spawnSync("gzip", ["-9", "-c", wasmFile], { maxBuffer: 1 << 26 }).stdout.length;
console.log(`gopanic_js_bg.wasm: ${statSync(wasmFile).size} bytes, ${gz} bytes gzip -9`);
const chromiumVersion = spawnSync(executablePath, ["--version"], { encoding: "utf8" }).stdout.trim();
console.log(`node ${process.version}; ${chromiumVersion}; median of ${RUNS} runs after a warm-up\n`);

const rows = [];
const scratch = mkdtempSync(join(tmpdir(), "gopanic-bench-"));
for (const [name, text] of Object.entries(logs)) {
  const records = gopanic.reassemble(text);
  const reports = records.filter((r) => r.go).length;
  rows.push([name, "size", `${mb(text.length)}, ${records.length} records, ${reports} reports`]);
  const objects = timeNode(() => gopanic.reassemble(text));
  const ndjson = timeNode(() => gopanic.reassembleNdjson(text));
  rows.push([name, "Node reassemble() → objects", `${objects.wall.toFixed(0)} ms (cpu ${objects.cpu.toFixed(0)} ms)`]);
  rows.push([name, "Node reassembleNdjson()", `${ndjson.wall.toFixed(0)} ms (cpu ${ndjson.cpu.toFixed(0)} ms)`]);
  const file = join(scratch, `${name}.log`);
  writeFileSync(file, text);
  const native = [];
  for (let i = 0; i < RUNS; i++) {
    const t = performance.now();
    spawnSync(cli, [file], { stdio: ["ignore", "ignore", "inherit"] });
    native.push(performance.now() - t);
  }
  rows.push([name, "native CLI (process, to /dev/null)", `${median(native).toFixed(0)} ms`]);
}
rmSync(scratch, { recursive: true, force: true });

const server = await serve(join(pkgDir, "pkg", "playground"));
const browser = await launch();
try {
  const page = await browser.context.newPage();
  await page.goto(server.url);
  await page.waitForSelector("body[data-ready=true]");
  for (const [name, text] of Object.entries(logs)) {
    // The text is handed over once; each run analyses it from scratch.
    await page.evaluate((t) => {
      window.benchText = t;
    }, text);
    const core = [];
    const total = [];
    for (let i = 0; i <= RUNS; i++) {
      const r = await page.evaluate(() => window.gopanicPlayground.analyse(window.benchText));
      if (i === 0) continue; // warm-up
      core.push(r.coreMs);
      total.push(r.totalMs);
    }
    rows.push([name, "Chromium playground: core call", `${median(core).toFixed(0)} ms`]);
    rows.push([name, "Chromium playground: until shown (core + first 50 reports laid out)", `${median(total).toFixed(0)} ms`]);
  }
} finally {
  await browser.close();
  await server.close();
}

const w = Math.max(...rows.map((r) => r[1].length));
for (const [name, what, value] of rows) console.log(`${name.padEnd(12)} ${what.padEnd(w)}  ${value}`);
