// The playground: a log in, gopanic's records out, all in the page.
//
// One call to the WebAssembly core gives the records as NDJSON (the CLI's
// exact bytes). Only what is shown is parsed: the reports of the window on
// screen and a few ordinary lines around each; the rest stays text until
// asked for, so a 10 MB log costs one pass of the core.

import init, { reassembleNdjson } from "./gopanic/gopanic_js.js";

/** Ordinary lines shown before and after each report. */
const CONTEXT = 3;
/** Reports rendered at once; more on request. */
const REPORTS_PER_PAGE = 50;
/** Ordinary lines revealed per click on a collapsed run. */
const LINES_PER_REVEAL = 500;
/** Pasted or dropped text larger than this is not copied into the text box. */
const TEXTAREA_MAX = 1 << 20;

const $ = (id) => document.getElementById(id);
const logBox = $("log");
const statusLine = $("status");
const results = $("results");
const template = $("report-template");

/** The current analysis. */
let current = null;

function options(extra) {
  return { format: $("format").value, ...extra };
}

/**
 * A report record holds the key `"go"` with an object value. Inside a JSON
 * string every `"` is escaped, so the unescaped sequence `"go":{` only
 * occurs as that key: no parse needed to tell reports from lines.
 */
function isReport(line) {
  return line.includes('"go":{');
}

/** Runs the core on `input` (string or bytes) and shows the result. */
function analyse(input, label) {
  const t0 = performance.now();
  const ndjson = reassembleNdjson(input, options());
  const t1 = performance.now();
  const lines = ndjson.split("\n");
  lines.pop(); // after the last record's newline
  const reports = [];
  for (let i = 0; i < lines.length; i++) {
    if (isReport(lines[i])) reports.push(i);
  }
  current = { input, lines, reports, ecs: null, shown: 0, cursor: 0, label };
  results.replaceChildren();
  renderMore();
  // Layout included: the time until the page can show the result.
  results.getBoundingClientRect();
  const t2 = performance.now();
  const fatal = reports.filter((i) => lines[i].includes('"fatal":true')).length;
  const inputLines = typeof input === "string" ? countLines(input) : null;
  statusLine.textContent =
    `${label}: ${inputLines === null ? "" : `${fmt(inputLines)} lines → `}${fmt(lines.length)} records, ` +
    `${fmt(reports.length)} crash report${reports.length === 1 ? "" : "s"}` +
    (reports.length ? ` (${fmt(fatal)} fatal)` : "") +
    `. Core ${ms(t1 - t0)}, shown in ${ms(t2 - t0)}.`;
  results.dataset.coreMs = (t1 - t0).toFixed(1);
  results.dataset.totalMs = (t2 - t0).toFixed(1);
  return {
    records: lines.length,
    reports: reports.length,
    coreMs: t1 - t0,
    totalMs: t2 - t0,
  };
}

function countLines(s) {
  if (!s) return 0;
  let n = 0;
  for (let i = s.indexOf("\n"); i !== -1; i = s.indexOf("\n", i + 1)) n++;
  return s.endsWith("\n") ? n : n + 1;
}

const fmt = (n) => n.toLocaleString("en-US");
const ms = (t) => `${t < 10 ? t.toFixed(1) : Math.round(t)} ms`;

/** Renders the next page of reports with their surrounding lines. */
function renderMore() {
  const { lines, reports } = current;
  const frag = document.createDocumentFragment();
  const from = current.shown;
  const to = Math.min(reports.length, from + REPORTS_PER_PAGE);
  let cursor = current.cursor;
  for (let k = from; k < to; k++) {
    const r = reports[k];
    const before = Math.max(cursor, r - CONTEXT);
    if (before > cursor) frag.append(gap(cursor, before));
    if (r > before) frag.append(ordinary(before, r));
    frag.append(reportCard(k));
    const next = k + 1 < reports.length ? reports[k + 1] : lines.length;
    const after = Math.min(next, r + 1 + CONTEXT);
    if (after > r + 1) frag.append(ordinary(r + 1, after));
    cursor = after;
  }
  current.shown = to;
  current.cursor = cursor;
  results.querySelector(":scope > .more")?.remove();
  if (to < reports.length) {
    const left = reports.length - to;
    const more = button(`Show ${fmt(Math.min(REPORTS_PER_PAGE, left))} more reports (${fmt(left)} left)`, renderMore);
    more.classList.add("more");
    frag.append(more);
  } else if (reports.length === 0) {
    const head = Math.min(lines.length, CONTEXT * 4);
    if (head > 0) frag.append(ordinary(0, head));
    if (head < lines.length) frag.append(gap(head, lines.length));
  } else if (cursor < lines.length) {
    frag.append(gap(cursor, lines.length));
  }
  results.append(frag);
}

function button(text, onClick) {
  const b = document.createElement("button");
  b.type = "button";
  b.textContent = text;
  b.addEventListener("click", onClick);
  return b;
}

/** Ordinary records [from, to) as dimmed lines. */
function ordinary(from, to) {
  const pre = document.createElement("pre");
  pre.className = "ordinary";
  pre.tabIndex = -1;
  const texts = [];
  for (let i = from; i < to; i++) {
    const rec = JSON.parse(current.lines[i]);
    const text = rec.log ?? rec.message ?? "";
    const prefix = [rec.time, rec.stream].filter(Boolean).join(" ");
    texts.push(prefix ? `${prefix}  ${text}` : text);
  }
  pre.textContent = texts.join("\n");
  return pre;
}

/** A collapsed run of ordinary records [from, to), revealed on request. */
function gap(from, to) {
  const b = button(`⋯ ${fmt(to - from)} ordinary line${to - from === 1 ? "" : "s"} (show)`, () => {
    const upto = Math.min(to, from + LINES_PER_REVEAL);
    const parts = [ordinary(from, upto)];
    if (upto < to) parts.push(gap(upto, to));
    b.replaceWith(...parts);
    parts[0].focus();
  });
  b.className = "gap";
  return b;
}

function text(el, selector, value) {
  el.querySelector(selector).textContent = value;
}

function frameText(f) {
  return `${f.function}  ${f.file}:${f.line}`;
}

/** The card of the k-th report. */
function reportCard(k) {
  const index = current.reports[k];
  const line = current.lines[index];
  const rec = JSON.parse(line);
  const go = rec.go;
  const card = template.content.firstElementChild.cloneNode(true);
  card.id = `report-${k + 1}`;
  card.dataset.record = String(index);
  card.setAttribute("aria-label", `Crash report ${k + 1}: ${go.class}`);
  text(card, ".class", go.class);
  const fatal = card.querySelector(".fatal");
  fatal.textContent = go.fatal ? "fatal" : "not fatal";
  fatal.classList.toggle("no", !go.fatal);
  const rec_ = card.querySelector(".recoverable");
  rec_.textContent = go.recoverable ? "recoverable" : "unrecoverable";
  rec_.classList.toggle("no", !go.recoverable);
  text(card, ".message", go.message ?? "(no message)");
  const tf = go.top_frame;
  text(card, ".top-frame", tf ? `${tf.function} (${tf.file}:${tf.line})` : "none printed");
  text(card, ".fingerprint", go.fingerprint);
  const g = go.goroutine;
  text(card, ".goroutine", g ? `${g.id} [${g.state}${g.wait_minutes ? `, ${g.wait_minutes} minutes` : ""}]` : "none");
  text(card, ".event", `${go.event}, ${go.lines} lines${go.truncated ? `, part ${go.part} of report ${go.report_id}` : ""}`);
  text(card, ".when", [rec.time, rec.stream].filter(Boolean).join(" ") || "(plain text: no time)");

  // The goroutine the report is about comes first in `go.goroutines`.
  const first = go.goroutines?.[0];
  const frames = card.querySelector(".frames");
  if (first && (!g || first.id === g.id)) {
    frames.querySelector("summary").textContent =
      `Goroutine ${first.id} [${first.state}]: ${first.frames.length} frame${first.frames.length === 1 ? "" : "s"}` +
      (first.elided_frames ? `, ${first.elided_frames} elided` : "");
    const ol = frames.querySelector("ol");
    for (const f of first.frames) {
      const li = document.createElement("li");
      if (f.runtime) li.className = "runtime";
      const fn = document.createElement("code");
      fn.textContent = f.function;
      const loc = document.createElement("span");
      loc.className = "loc";
      loc.textContent = `${f.file}:${f.line}`;
      li.append(fn, " ", loc);
      ol.append(li);
    }
    if (first.created_by) {
      const li = document.createElement("li");
      li.className = "created-by";
      li.textContent = `created by ${first.created_by.function} (${first.created_by.file}:${first.created_by.line})`;
      ol.append(li);
    }
  } else {
    frames.remove();
  }

  const buckets = card.querySelector(".buckets");
  if (go.goroutine_buckets?.length) {
    const total = go.goroutines_total;
    buckets.querySelector("summary").textContent =
      `Goroutine states: ${fmt(total)} goroutine${total === 1 ? "" : "s"} in ${go.goroutine_buckets.length + (go.goroutine_buckets_omitted ?? 0)} bucket${go.goroutine_buckets.length === 1 ? "" : "s"}`;
    const max = Math.max(...go.goroutine_buckets.map((b) => b.count));
    const ul = buckets.querySelector("ul");
    for (const b of go.goroutine_buckets) {
      const li = document.createElement("li");
      const bar = document.createElement("span");
      bar.className = "bar";
      bar.style.width = `${Math.max(2, (100 * b.count) / max)}%`;
      bar.setAttribute("aria-hidden", "true");
      const label = document.createElement("span");
      label.className = "label";
      label.textContent = `${fmt(b.count)} × ${b.state}${b.top_function ? ` in ${b.top_function}` : ""}`;
      li.append(bar, label);
      ul.append(li);
    }
    if (go.goroutine_buckets_omitted) {
      const li = document.createElement("li");
      li.textContent = `${go.goroutine_buckets_omitted} more buckets`;
      ul.append(li);
    }
  } else {
    buckets.remove();
  }

  // JSON, ECS and the text are built when opened.
  const loki = card.querySelector(".loki");
  loki.addEventListener("toggle", () => {
    if (loki.open) loki.querySelector("pre").textContent = line;
  });
  loki.querySelector(".copy-json").addEventListener("click", (e) => copy(line, e.target));
  const ecs = card.querySelector(".ecs");
  ecs.addEventListener("toggle", () => {
    if (ecs.open) ecs.querySelector("pre").textContent = ecsLine(index);
  });
  ecs.querySelector(".copy-json").addEventListener("click", (e) => copy(ecsLine(index), e.target));
  const textBox = card.querySelector(".text");
  textBox.querySelector("summary").textContent = `Report text (${go.lines} lines)`;
  textBox.addEventListener("toggle", () => {
    if (textBox.open) textBox.querySelector("pre").textContent = rec.log;
  });

  const query = card.querySelector(".query");
  query.value = logql(go.fingerprint);
  query.size = Math.min(90, query.value.length);
  card.querySelector(".copy-query").addEventListener("click", (e) => copy(query.value, e.target));
  return card;
}

/** The ECS form of record `index`: the same input in the ECS profile, once. */
function ecsLine(index) {
  if (!current.ecs) {
    const ndjson = reassembleNdjson(current.input, options({ profile: "ecs" }));
    current.ecs = ndjson.split("\n");
  }
  return current.ecs[index];
}

/** Lines with this fingerprint: the line filter keeps `| json` off the rest. */
function logql(fingerprint) {
  const selector = $("selector").value.trim() || '{job="fluent-bit"}';
  return `${selector} |= "${fingerprint}" | json | go_fingerprint="${fingerprint}"`;
}

async function copy(value, btn) {
  const label = btn.textContent;
  try {
    await navigator.clipboard.writeText(value);
    btn.textContent = "Copied";
  } catch {
    btn.textContent = "Copy failed: select the text instead";
  }
  setTimeout(() => (btn.textContent = label), 1500);
}

/** Shows `input` in the text box when it is small enough to edit there. */
function showInput(input, name) {
  const size = typeof input === "string" ? input.length : input.byteLength;
  if (size <= TEXTAREA_MAX) {
    logBox.value = typeof input === "string" ? input : new TextDecoder().decode(input);
    logBox.placeholder = "";
  } else {
    logBox.value = "";
    logBox.placeholder = `${name}: ${(size / 1e6).toFixed(1)} MB, not shown here (analysed below). Type or paste to replace it.`;
  }
}

function run(input, label) {
  try {
    return analyse(input, label);
  } catch (e) {
    statusLine.textContent = `Error: ${e.message}`;
    results.replaceChildren();
    return null;
  }
}

async function loadFile(file) {
  const bytes = new Uint8Array(await file.arrayBuffer());
  showInput(bytes, file.name);
  return run(bytes, file.name);
}

function wire() {
  let timer = 0;
  logBox.addEventListener("input", () => {
    clearTimeout(timer);
    timer = setTimeout(() => run(logBox.value, "Pasted text"), 150);
  });
  // A large paste is kept out of the text box (slow to lay out).
  logBox.addEventListener("paste", (e) => {
    const pasted = e.clipboardData?.getData("text/plain");
    if (pasted && pasted.length > TEXTAREA_MAX) {
      e.preventDefault();
      showInput(pasted, "Pasted text");
      run(pasted, "Pasted text");
    }
  });
  $("run").addEventListener("click", () => {
    if (logBox.value || !current) run(logBox.value, "Pasted text");
    else run(current.input, current.label);
  });
  $("format").addEventListener("change", () => current && run(current.input, current.label));
  $("selector").addEventListener("change", () => {
    for (const card of results.querySelectorAll(".report")) {
      const q = card.querySelector(".query");
      q.value = logql(card.querySelector(".fingerprint").textContent);
    }
  });
  $("file").addEventListener("change", (e) => {
    const f = e.target.files?.[0];
    if (f) loadFile(f);
  });
  const drop = $("drop");
  drop.addEventListener("dragover", (e) => {
    e.preventDefault();
    drop.classList.add("over");
  });
  drop.addEventListener("dragleave", () => drop.classList.remove("over"));
  drop.addEventListener("drop", (e) => {
    e.preventDefault();
    drop.classList.remove("over");
    const f = e.dataTransfer?.files?.[0];
    if (f) loadFile(f);
  });
}

async function examples() {
  const holder = $("examples");
  const list = await (await fetch("examples.json")).json();
  for (const ex of list) {
    holder.append(
      button(ex.title, async () => {
        const text = await (await fetch(`examples/${ex.file}`)).text();
        showInput(text, ex.file);
        run(text, ex.title);
      }),
      " ",
    );
  }
}

await init();
wire();
await examples();
statusLine.textContent = "Ready: paste a log, drop a file, or pick an example.";
document.body.dataset.ready = "true";

/** For scripts driving the page (tests, benchmarks). */
window.gopanicPlayground = { analyse: (input) => run(input, "Script") };
