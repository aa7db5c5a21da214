// The interop matrix's requests (tools/conformance/interop.py): publish a scan of a
// scenario and read a closed scan back, as tools/vectors/interop_peer.py does for
// the Python clients, so that the runner checks every client's answers alike.
import { isLosslessNumber, stringify as losslessStringify } from "lossless-json";
import { DataStore } from "./store";
import { makeDefinition, Scan } from "./scan";
import { Stream } from "./stream";
import { parseLossless, plain } from "./h5maps";
import { error, fromRepr, runOp } from "./driverops";

const IDENTITY_FIELDS = ["name", "number", "data_policy", "session", "path"] as const;

/** Non-finite floats travel as {"$float": "NaN" | "Infinity" | "-Infinity"} (JSON has none). */
export function revive(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(revive);
  if (v && typeof v === "object" && !isLosslessNumber(v)) {
    const o = v as Record<string, unknown>;
    const keys = Object.keys(o);
    if (keys.length === 1 && keys[0] === "$float" && typeof o.$float === "string") return Number(o.$float);
    return Object.fromEntries(keys.map((k) => [k, revive(o[k])]));
  }
  return v;
}

function failure(err: unknown): Record<string, unknown> {
  const { error: name, message } = error(err);
  return { error: name, message };
}

/** Info as the scenario wrote it: exact numbers (LosslessNumber: `1.0` stays a float). */
function info(v: unknown): Record<string, unknown> {
  return revive(v ?? {}) as Record<string, unknown>;
}

/**
 * Publish one scan spec (parsed with lossless numbers): create, prepare, start,
 * every send in order, seals, stop, close.
 */
export async function play(ds: DataStore, spec: any): Promise<Record<string, unknown>> {
  const scan = await ds.createScan(plain(spec.identity) as any, info(spec.info));
  const streams = new Map<string, Stream>();
  for (const s of spec.streams)
    streams.set(s.name, scan.createStream(makeDefinition(s.name, s.dtype, plain(s.shape) as number[] | null, info(s.info))));
  await scan.prepare();
  await scan.start();
  const errors: unknown[] = [];
  const pace = (plain(spec.pace) ?? {}) as { every?: number; sleep: number };
  let n = 0;
  for (const [name, value] of (plain(spec.sends) ?? []) as [string, unknown][]) {
    const stream = streams.get(name)!;
    try {
      stream.send(fromRepr(value));
      await stream.join(); // published at once, as a Python producer's background sender does
    } catch (err) {
      errors.push({ send: n, stream: name, ...failure(err) });
    }
    n += 1;
    if (pace.every && n % pace.every === 0) await new Promise((r) => setTimeout(r, pace.sleep * 1000));
  }
  const sealReturns: Record<string, number> = {};
  for (const name of spec.seal ?? []) {
    try {
      sealReturns[name] = await streams.get(name)!.seal();
    } catch (err) {
      errors.push({ seal: name, ...failure(err) });
    }
  }
  await scan.stop();
  for (const [k, v] of Object.entries(info(spec.info_at_close))) scan.info[k] = v;
  await scan.close();
  return { key: scan.key, seal_returns: sealReturns, errors };
}

/**
 * Load a closed scan and run, per stream, its read operations, then the store's
 * (search, last_scan). The info travels as JSON text: integers beyond 2**53 stay exact.
 */
export async function readScan(ds: DataStore, job: any): Promise<Record<string, unknown>> {
  let scan: Scan;
  try {
    scan = await ds.loadScan(job.key);
  } catch (err) {
    return { load_error: failure(err) };
  }
  const doc = parseLossless(scan.docText ?? JSON.stringify(scan.doc)) as any;
  const streams: Record<string, unknown> = {};
  for (const [name, s] of Object.entries<any>(job.streams)) {
    let stream: Stream;
    try {
      stream = scan.stream(name);
    } catch (err) {
      streams[name] = { load_error: failure(err) };
      continue;
    }
    const results = [];
    for (const op of s.ops) results.push(await runOp(stream, op, !!s.json));
    streams[name] = { results };
  }
  const store = [];
  for (const op of job.store_ops ?? []) {
    try {
      if (op.op === "search") store.push({ value: (await ds.searchExistingScans(op.query))[1].sort() });
      else if (op.op === "last_scan") store.push({ value: await ds.getLastScan() });
      else throw new Error(`unknown store op ${op.op}`);
    } catch (err) {
      store.push(error(err));
    }
  }
  return {
    state: scan.state,
    identity: Object.fromEntries(IDENTITY_FIELDS.map((f) => [f, (scan.identity as any)[f] ?? null])),
    info_json: losslessStringify(doc.info ?? {}),
    stream_names: [...scan.streamNames].sort(),
    streams,
    store,
  };
}
