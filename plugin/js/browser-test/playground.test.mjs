// The playground in real headless Chromium, served by a static server:
// paste a fixture, drop a file, pick an example by keyboard, and check the
// reports, classes and JSON shown against the CLI and the ground truth.

import assert from "node:assert/strict";
import { mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, test } from "node:test";

import { corpus, gopanic, pkgDir, root, runCli } from "../test/common.mjs";
import { launch } from "./browser.mjs";
import { serve } from "./server.mjs";

const screenshot = process.env.PLAYGROUND_SCREENSHOT || join(root, "target", "playground.png");

let server;
let browser;
let page;

before(async () => {
  server = await serve(join(pkgDir, "pkg", "playground"));
  browser = await launch();
  await browser.context.grantPermissions(["clipboard-read", "clipboard-write"], { origin: server.url.replace(/\/$/, "") });
  page = await browser.context.newPage();
  const errors = [];
  page.on("pageerror", (e) => errors.push(e.message));
  page.on("console", (m) => m.type() === "error" && errors.push(m.text()));
  await page.goto(server.url);
  await page.waitForSelector("body[data-ready=true]", { timeout: 30_000 });
  assert.deepEqual(errors, [], "the page loads without errors");
});

after(async () => {
  await browser?.close();
  await server?.close();
});

function fixture(path) {
  const file = join(corpus, path);
  const truth = JSON.parse(readFileSync(join(file, "..", "truth.json"), "utf8"));
  return { file, text: readFileSync(file, "utf8"), truth };
}

/** What the page shows for each report card. */
function cards() {
  return page.$$eval(".report", (els) =>
    els.map((el) => ({
      record: Number(el.dataset.record),
      class: el.querySelector(".class").textContent,
      fatal: el.querySelector(".fatal").textContent,
      recoverable: el.querySelector(".recoverable").textContent,
      message: el.querySelector(".message").textContent,
      topFrame: el.querySelector(".top-frame").textContent,
      fingerprint: el.querySelector(".fingerprint").textContent,
      frames: [...el.querySelectorAll(".frame-list li code")].map((c) => c.textContent),
      buckets: [...el.querySelectorAll(".chart .label")].map((c) => c.textContent),
      query: el.querySelector(".query").value,
    })),
  );
}

async function waitForStatus(pattern) {
  await page.waitForFunction((src) => new RegExp(src).test(document.getElementById("status").textContent), pattern.source, { timeout: 30_000 });
  return page.textContent("#status");
}

test("a pasted CRI log: reports, classes, frames, JSON and LogQL as the CLI gives them", async () => {
  const { file, text, truth } = fixture("chatty/go1.24/cri.log");
  // A real paste: the text on the clipboard, Ctrl+V in the text box.
  await page.evaluate((t) => navigator.clipboard.writeText(t), text);
  await page.click("#log");
  await page.keyboard.press("Control+V");
  const status = await waitForStatus(/crash report/);
  assert.equal(await page.inputValue("#log"), text, "the pasted text is in the text box");

  const records = gopanic.reassemble(text);
  const reports = records.map((r, i) => [r, i]).filter(([r]) => r.go);
  const shown = await cards();
  assert.equal(shown.length, truth.reports.length);
  assert.equal(shown.length, reports.length);
  assert.match(status, new RegExp(`${records.length} records, ${reports.length} crash report`));
  const cli = runCli(file).toString("utf8").split("\n");
  const cliEcs = runCli(file, ["--profile", "ecs"]).toString("utf8").split("\n");
  for (const [k, card] of shown.entries()) {
    const [record, index] = reports[k];
    assert.equal(card.record, index);
    assert.equal(card.class, truth.reports[k].class);
    assert.equal(card.fatal, truth.reports[k].fatal ? "fatal" : "not fatal");
    assert.equal(card.fingerprint, record.go.fingerprint);
    assert.equal(card.message, record.go.message);
    assert.match(card.topFrame, new RegExp(`^${record.go.top_frame.function.replace(/[.*()[\]]/g, "\\$&")} `));
    assert.deepEqual(card.frames, record.go.goroutines[0].frames.map((f) => f.function));
    assert.equal(card.buckets.length, record.go.goroutine_buckets.length);
    assert.equal(card.query, `{job="fluent-bit"} |= "${record.go.fingerprint}" | json | go_fingerprint="${record.go.fingerprint}"`);

    // The JSON shown is the CLI's line, byte for byte; so is the ECS form.
    const sel = `#report-${k + 1}`;
    await page.click(`${sel} .loki summary`);
    assert.equal(await page.textContent(`${sel} .loki pre`), cli[index]);
    await page.click(`${sel} .ecs summary`);
    // The ECS form is computed when the details open (a "toggle" event,
    // dispatched after the click returns): wait for it.
    await page.waitForFunction((s) => document.querySelector(s).textContent !== "", `${sel} .ecs pre`);
    assert.equal(await page.textContent(`${sel} .ecs pre`), cliEcs[index]);
  }
  assert.equal(shown[0].class, "nil_dereference");

  // Ordinary lines around the report, dimmed; the rest collapsed.
  const ordinary = await page.$$eval("pre.ordinary", (els) => els.map((e) => [e.textContent, getComputedStyle(e).color]));
  assert.ok(ordinary.length >= 1);
  for (const [, color] of ordinary) assert.equal(color, "rgb(107, 114, 128)");
  const gaps = await page.$$eval("button.gap", (els) => els.map((e) => e.textContent));
  assert.ok(gaps.length >= 1, "long runs of ordinary lines are collapsed");
  const shownLines = ordinary.flatMap(([t]) => t.split("\n")).length;
  const hidden = gaps.reduce((n, g) => n + Number(g.match(/([\d,]+) ordinary/)[1].replace(/,/g, "")), 0);
  assert.equal(shownLines + hidden + reports.length, records.length, "every record is on the page or counted in a gap");

  mkdirSync(join(root, "target"), { recursive: true });
  await page.screenshot({ path: screenshot, fullPage: true });
});

/** Tabs from the Analyse button to the example button titled `title`. */
async function tabToExample(title) {
  await page.focus("#run");
  for (let i = 0; i < 12; i++) {
    await page.keyboard.press("Tab");
    if (await page.evaluate((t) => document.activeElement.textContent.startsWith(t), title)) return;
  }
  assert.fail(`the example button "${title}" is not reachable with Tab`);
}

test("keyboard only: examples, a report's JSON, a collapsed run", async () => {
  await tabToExample("Service log with a nil dereference");
  await page.keyboard.press("Enter");
  await waitForStatus(/^Service log with a nil dereference.*1 crash report/);
  assert.deepEqual((await cards()).map((c) => c.class), ["nil_dereference"]);

  // A summary opens with Enter; a collapsed run opens with Enter and takes
  // the focus.
  await page.focus("#report-1 .loki summary");
  await page.keyboard.press("Enter");
  // The toggle is the browser's default action for the key, which a busy
  // machine may run after the press returns: wait for it (a timeout fails).
  await page.waitForFunction(() => document.querySelector("#report-1 .loki").open, null, { timeout: 5000 });
  assert.ok((await page.textContent("#report-1 .loki pre")).includes('"class":"nil_dereference"'));
  const before = await page.$$eval("pre.ordinary", (els) => els.length);
  await page.focus("button.gap");
  await page.keyboard.press("Enter");
  // A button's click on Enter is a default action too.
  await page.waitForFunction(() => document.activeElement.className === "ordinary", null, { timeout: 5000 });
  assert.equal(await page.$$eval("pre.ordinary", (els) => els.length), before + 1);

  const { truth } = fixture("http_panic/go1.24/cri.log");
  await tabToExample("Recovered http: panic serving");
  await page.keyboard.press("Enter");
  await waitForStatus(/^Recovered http: panic serving.*2 crash reports/);
  const shown = await cards();
  assert.deepEqual(shown.map((c) => c.class), truth.reports.map((r) => r.class));
  assert.deepEqual(shown.map((c) => c.fatal), ["not fatal", "not fatal"]);
});

test("a dropped file and a file chosen with the file input", async () => {
  const { file, truth } = fixture("data_race/go1.24/plain.log");
  const bytes = [...readFileSync(file)];
  await page.evaluate((b) => {
    const dt = new DataTransfer();
    dt.items.add(new File([new Uint8Array(b)], "race.log", { type: "text/plain" }));
    document.getElementById("drop").dispatchEvent(new DragEvent("drop", { dataTransfer: dt, bubbles: true, cancelable: true }));
  }, bytes);
  await waitForStatus(/^race\.log: .*crash report/);
  let shown = await cards();
  assert.deepEqual(shown.map((c) => c.class), truth.reports.map((r) => r.class));
  assert.equal(shown[0].class, "data_race");

  const dead = fixture("deadlock/go1.22/docker.log");
  await page.setInputFiles("#file", dead.file);
  await waitForStatus(/^docker\.log: .*1 crash report/);
  shown = await cards();
  assert.deepEqual(shown.map((c) => c.class), ["deadlock"]);
});

test("a 10 MB log: every report counted, the first page shown", { timeout: 300_000 }, async () => {
  const one = readFileSync(join(corpus, "chatty/go1.24/cri.log"), "utf8");
  const big = one.repeat(Math.ceil((10 << 20) / one.length));
  const result = await page.evaluate((t) => window.gopanicPlayground.analyse(t), big);
  const want = gopanic.reassemble(big);
  assert.equal(result.records, want.length);
  assert.equal(result.reports, want.filter((r) => r.go).length);
  assert.equal((await cards()).length, 50, "the first 50 reports");
  assert.ok(await page.$("button.more"), "a button for the next reports");
});
