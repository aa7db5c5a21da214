#!/usr/bin/env node
// Conformance driver: answers the runner's requests, one JSON object per line on
// stdin, one JSON object per line on stdout (spec/vectors/README.md, "Driving a
// client in another language").
import * as readline from "node:readline";
import * as fs from "node:fs";
import * as path from "node:path";
import { DataStore } from "./store";
import { NDArray } from "./ndarray";
import { CursorGroup, Stream, View } from "./stream";
import { makeDefinition, Scan, ScanState } from "./scan";
import { mro } from "./errors";
import { validate } from "./validate";
import { H5MapError, parseLossless, parseMaps, Value as H5Value } from "./h5maps";
import { error, fromRepr, repr, runOp } from "./driverops";
import { play, readScan } from "./interop";

function h5Repr(v: H5Value): unknown {
  switch (v.kind) {
    case "array": return { array: { dtype: v.dtypeStr, shape: v.array.shape, base64: v.bytes.toString("base64") } };
    case "strings": return { strings: { shape: v.shape, list: v.list } };
    case "compound": return { compound: { shape: v.shape, columns: v.columns.map(([n, c]) => [n, h5Repr(c)]) } };
    case "stream": return { stream: v.stream };
  }
}

const stores = new Map<string, DataStore>();
async function store(url: string): Promise<DataStore> {
  let ds = stores.get(url);
  if (!ds) {
    ds = await DataStore.connect(url);
    stores.set(url, ds);
  }
  return ds;
}

function printable(b: Buffer): boolean {
  for (const c of b) if (c < 0x20 || c > 0x7e) return false;
  return true;
}

async function xrange(ds: DataStore, key: string) {
  const raw = (await ds.conn.callBuffer("XRANGE", key, "-", "+")) as [Buffer, Buffer[]][];
  return raw.map(([id, f]) => {
    const fields: unknown[] = [];
    for (let i = 0; i < f.length; i += 2)
      fields.push([f[i].toString(), printable(f[i + 1]) ? { text: f[i + 1].toString() } : { base64: f[i + 1].toString("base64") }]);
    return { id: id.toString(), fields };
  });
}

const IDENTITY = { name: "conformance", number: 1, data_policy: "no_policy" };

async function handle(req: any): Promise<unknown> {
  switch (req.op) {
    case "ping":
      return { pong: true };
    case "read": {
      let stream: Stream;
      try {
        const scan = await (await store(req.url)).loadScan(req.scan_key);
        stream = scan.stream(req.stream);
      } catch (err) {
        return { load_error: error(err) };
      }
      const results = [];
      for (const op of req.ops) results.push(await runOp(stream, op, !!req.json_stream));
      return { results };
    }
    case "encode": {
      const ds = await store(req.url);
      const d = req.definition;
      const scan = await ds.createScan(IDENTITY);
      const stream = scan.createStream(makeDefinition(d.name, d.dtype, d.shape));
      await scan.prepare();
      await scan.start();
      let sealReturn: number | null = null;
      try {
        for (const send of req.sends) {
          stream.send(fromRepr(send));
          await stream.join();
        }
        if (req.seal) sealReturn = await stream.seal();
      } catch (err) {
        return error(err);
      }
      const model = JSON.parse((await ds.conn.call("JSON.GET", scan.key)) as string).data_streams[d.name];
      const entries = await xrange(ds, stream.key);
      if (req.seal) {
        await scan.stop();
        await scan.close();
      }
      return { encoding: model.encoding, info: model.info, entries, seal_return: sealReturn };
    }
    case "lifecycle": {
      const ds = await store(req.url);
      const c = req.case;
      const get = async (s: Scan) => JSON.parse((await ds.conn.call("JSON.GET", s.key)) as string);
      const info = { ...c.info };
      for (const k of c.info_nan_keys ?? []) info[k] = NaN;
      let scan: Scan;
      const docs: Record<string, unknown> = {};
      try {
        scan = await ds.createScan(c.identity, info);
        docs.CREATED = await get(scan);
        for (const s of c.streams) scan.createStream(makeDefinition(s.name, s.dtype, s.shape, s.info));
        for (const [k, v] of Object.entries(c.info_before_prepare ?? {})) scan.info[k] = v;
        await scan.prepare();
        docs.PREPARED = await get(scan);
        await scan.start();
        docs.STARTED = await get(scan);
        await scan.stop();
        docs.STOPPED = await get(scan);
        for (const [k, v] of Object.entries(c.info_at_close ?? {})) scan.info[k] = v;
        await scan.close();
        docs.CLOSED = await get(scan);
      } catch (err) {
        return error(err);
      }
      const states = (await xrange(ds, scan.stateKey)).map((e) => e.fields);
      const history = (await xrange(ds, "_SCAN_HISTORY_")).filter(
        (e) => JSON.stringify(e.fields) === JSON.stringify([["key", { text: scan.key }]]));
      return { documents: docs, state_entries: states, history_entries: history.length };
    }
    case "store": {
      const old = stores.get(req.url);
      if (old) {
        await old.close();
        stores.delete(req.url);
      }
      const ds = await store(req.url);
      const labels = new Map(Object.entries<string>(req.keys).map(([l, k]) => [k, l]));
      const label = (k: string) => labels.get(k) ?? k;
      const results = [];
      for (const op of req.ops) {
        try {
          switch (op.op) {
            case "search": {
              const [, found] = await ds.searchExistingScans(op.query);
              results.push({ value: found.map(label).sort() });
              break;
            }
            case "load":
              await ds.loadScan(req.keys[op.scan]);
              results.push({ value: "loaded" });
              break;
            case "last_scan": {
              const [t, k] = await ds.getLastScan();
              results.push({ value: [t, label(k)] });
              break;
            }
            case "last_timetag":
              results.push({ value: await ds.getLastScanTimetag() });
              break;
            case "next_scan": {
              const since = op.after ? req.timetags[op.after] : "0-0";
              const [t, k] = await ds.getNextScan({ since, block: false });
              results.push({ value: [t, label(k)] });
              break;
            }
            case "scans_state": {
              const states = await ds.getScansState(op.scans.map((s: string) => req.keys[s]));
              results.push({ value: Object.fromEntries([...states].map(([k, v]) => [label(k), v])) });
              break;
            }
            default:
              throw new Error(`unknown op ${op.op}`);
          }
        } catch (err) {
          results.push(error(err));
        }
      }
      return { results };
    }
    case "follow": {
      // interop: wait for the next scan after `since`, follow it to the end with a
      // cursor group, return every point of every stream
      const ds = await store(req.url);
      const [, key] = await ds.getNextScan({ since: req.since, block: true, timeout: req.timeout ?? 30 });
      const scan = await ds.loadScan(key);
      while (scan.state < ScanState.PREPARED) await scan.update({ timeout: 30 });
      const streams = [...scan.streams.values()];
      const group = new CursorGroup(streams);
      const points: Record<string, unknown[]> = Object.fromEntries(streams.map((s) => [s.name, []]));
      for (;;) {
        let views: Map<Stream, View>;
        try {
          views = await group.read({ block: true, timeout: req.timeout ?? 30 });
        } catch (err) {
          if (mro(err).includes("EndOfStream")) break;
          throw err;
        }
        for (const [s, v] of views) {
          const got = v.getData();
          const json = s.kind === "json";
          const n = got instanceof NDArray ? got.shape[0] : got.length;
          for (let i = 0; i < n; i++) {
            const p = got instanceof NDArray ? got.point(i) : (got as unknown[])[i];
            points[s.name].push(repr(p, json));
          }
        }
      }
      while (scan.state < ScanState.CLOSED) await scan.update({ timeout: 30 });
      return { key, state: scan.state, info: scan.info, points };
    }
    case "produce": {
      // interop: publish a scan (every stream's sends, one join each), close it
      const ds = await store(req.url);
      const scan = await ds.createScan(req.identity, req.info ?? {});
      const streams = req.streams.map((d: any) => scan.createStream(makeDefinition(d.name, d.dtype, d.shape, d.info ?? {})));
      await scan.prepare();
      await scan.start();
      const longest = Math.max(0, ...req.streams.map((d: any) => d.sends.length));
      for (let i = 0; i < longest; i++) {
        req.streams.forEach((d: any, j: number) => { if (i < d.sends.length) streams[j].send(fromRepr(d.sends[i])); });
        for (const s of streams) await s.join();
        if (req.pause_ms) await new Promise((r) => setTimeout(r, req.pause_ms));
      }
      await scan.stop();
      for (const [k, v] of Object.entries(req.info_at_close ?? {})) scan.info[k] = v;
      await scan.close();
      return { key: scan.key };
    }
    case "play": {
      // interop: publish scans of a scenario (tools/vectors/interop_peer.py's format),
      // sent as JSON text: their info's numbers keep their exact text
      const ds = await store(req.url);
      const scans = [];
      for (const spec of parseLossless(req.scans_text) as any[]) scans.push(await play(ds, spec));
      return { scans };
    }
    case "read_scans": {
      // interop: read closed scans back (a reader consumer of the interop matrix)
      const ds = await store(req.url);
      const scans = [];
      for (const job of req.scans) scans.push(await readScan(ds, job));
      return { scans };
    }
    case "h5maps": {
      // the map comes as JSON text: integers up to 2**64 - 1 must stay exact
      try {
        const maps = parseMaps(parseLossless(req.text));
        const items: Record<string, Record<string, unknown>> = {};
        for (const [file, parsed] of maps) {
          items[file] = {};
          for (const [p, it] of parsed) {
            const out: Record<string, unknown> = { ...it.item };
            if (it.value !== undefined) out.value = h5Repr(it.value);
            if (it.attributes !== null) out.attributes = Object.fromEntries([...it.attributes].map(([k, v]) => [k, h5Repr(v)]));
            items[file][p] = out;
          }
        }
        return { items };
      } catch (err) {
        if (err instanceof H5MapError) return { error: "H5MapError", path: err.path };
        throw err;
      }
    }
    case "validate":
      return { valid: validate(req.schema, req.document, req.schemas_dir) };
    default:
      throw new Error(`unknown request ${req.op}`);
  }
}

async function main() {
  const rl = readline.createInterface({ input: process.stdin, crlfDelay: Infinity });
  for await (const line of rl) {
    if (!line.trim()) continue;
    let reply: unknown;
    try {
      const req = JSON.parse(line);
      if (req.op === "quit") break;
      reply = await handle(req);
    } catch (err) {
      reply = { driver_error: String((err as Error)?.stack ?? err) };
    }
    process.stdout.write(JSON.stringify(reply) + "\n");
  }
  for (const ds of stores.values()) await ds.close();
  process.exit(0);
}

void fs; void path;
main();
