// Compiles under --strict against the generated declarations: the API as
// TypeScript users write it.
import { enrich, parse, reassemble, reassembleNdjson, Reassembler } from "../../pkg/node/gopanic_js.js";
import type { Crash, GoClass, GoRecord, Options, Stats } from "../../pkg/node/gopanic_js.js";

const options: Options = { format: "cri", profile: "ecs", maxRecordBytes: 262144, maxGoroutines: 5 };
const records: GoRecord[] = reassemble(new Uint8Array([0x61]), options);
const cls: GoClass | undefined = records[0]?.go?.class;
const top: string | undefined = records[0]?.go?.top_frame?.function;
const buckets: number[] = (records[0]?.go?.goroutine_buckets ?? []).map((b) => b.count);
const ndjson: string = reassembleNdjson("panic: x");

const tail = new Reassembler({ idleTimeoutMs: 500 });
const left: GoRecord[] = [...tail.push("panic: x", { stream: "stderr", time: "2026-11-27T06:51:01Z" }), ...tail.tick(Date.now()), ...tail.finish()];
const stats: Stats = tail.stats;

const crash: Crash = parse("panic: x");
const line: number | undefined = crash.goroutines[0]?.frames[0]?.line;
const enriched: GoRecord = enrich({ log: "panic: x", kubernetes: { pod_name: "p" } });

export { buckets, cls, enriched, left, line, ndjson, stats, top };
