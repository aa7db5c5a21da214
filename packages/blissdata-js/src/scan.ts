// Scans: the document, states, following state changes, and the producer side (PROTOCOL.md §5, §6).
import {
  BlissdataError, ScanNotFoundError, ScanValidationError, UnauthorizeStateTransition, ValueError,
} from "./errors";
import { JsonEncoder, NumericEncoder } from "./encoding";
import { canonicalStr, parseDtype } from "./ndarray";
import { Conns, Stream, StreamModel } from "./stream";
import { ulid } from "./ulid";
import { parseLossless, parseMaps } from "./h5maps";
import { isLosslessNumber, LosslessNumber, parse as losslessParse, stringify as losslessStringify } from "lossless-json";

export enum ScanState {
  CREATED = 0,
  PREPARED = 1,
  STARTED = 2,
  STOPPED = 3,
  CLOSED = 4,
}

export interface Identity {
  name: string;
  number: number;
  data_policy: string;
  session?: string | null;
  proposal?: string | null;
  collection?: string | null;
  dataset?: string | null;
  path?: string | null;
}

/** What a producer declares: a name, an encoding and the stream's info. */
export interface StreamDefinition {
  name: string;
  encoding: Record<string, unknown>;
  info: Record<string, unknown>;
}

const NUMPY_NAMES: Record<string, string> = {
  "?": "|b1", bool: "|b1", int8: "|i1", uint8: "|u1", int16: "<i2", uint16: "<u2", int32: "<i4", uint32: "<u4",
  int64: "<i8", uint64: "<u8", float16: "<f2", float32: "<f4", float64: "<f8", float128: "<f16",
  complex64: "<c8", complex128: "<c16", complex256: "<c32",
};

/**
 * A stream definition: `dtype` a numpy dtype.str ("<f8", ">i2", "|u1"), a
 * numpy type name (little endian: "float64"), or "json" (shape null).
 * Numeric streams record `dtype` (type name) and `shape` in their info.
 */
export function makeDefinition(name: string, dtype: string, shape: number[] | null = [], info: Record<string, unknown> = {}): StreamDefinition {
  if (dtype === "json") return { name, encoding: new JsonEncoder().info(), info: { ...info } };
  // as numpy spells it: readers validate "|i1", not "<i1" (spec/schemas)
  const enc = new NumericEncoder(canonicalStr(parseDtype(NUMPY_NAMES[dtype] ?? dtype)), shape ?? []);
  return { name, encoding: enc.info(), info: { ...info, ...enc.streamInfo() } };
}

export const MAX_INFO_BYTES = 2 ** 20;

/**
 * A producer's document as JSON text. Info values may be LosslessNumber (lossless-json):
 * their text is written as is, for what a JS number cannot say (`1.0` is a float to
 * Python readers, `2**64 - 1` is exact); NaN and infinities become null (§5.2).
 */
function docJson(value: unknown): string {
  return losslessStringify(value) ?? "null";
}

/** The document as written: a number whose text a JS number would change stays a LosslessNumber. */
function parseWritten(text: string): any {
  return losslessParse(text, null, (t: string) => (String(Number(t)) === t ? Number(t) : new LosslessNumber(t)));
}

export { isLosslessNumber, LosslessNumber };

export class Scan {
  doc: any;
  /** the document's JSON text as last read (h5maps need its exact integers) */
  docText: string | null = null;
  state: ScanState = ScanState.CREATED;
  private stateId = "0-0";
  private writers = new Map<string, Stream>();
  private savedInfo = "";
  private readers = new Map<string, Stream>();

  constructor(readonly conns: Conns, readonly key: string, doc: any, readonly writable: boolean) {
    this.doc = doc;
  }

  get pk(): string { return this.doc.pk; }
  get identity(): Identity & { pk: string } { return this.doc.id; }
  get name(): string { return this.doc.id.name; }
  get number(): number { return this.doc.id.number; }
  get info(): Record<string, any> { return this.doc.info; }
  set info(value: Record<string, any>) { this.doc.info = value; }
  get stateKey(): string { return `esrf:stream:${this.doc.state_stream.pk}`; }
  get streamNames(): string[] { return Object.keys(this.doc.data_streams ?? {}); }

  /** Read the document and the current state (a reader's load). */
  static async load(conns: Conns, key: string): Promise<Scan> {
    const text = (await conns.conn.call("JSON.GET", key)) as string | null;
    if (text === null) throw new ScanNotFoundError(`Scan ${key} not found`);
    const scan = new Scan(conns, key, checkDocument(JSON.parse(text), key), false);
    // the state and the document again, in one transaction: a producer's transition
    // between the first read and the state's would pair a PREPARED state with the
    // CREATED document (no streams), and update() would not reload it
    const [[stateErr, states], [docErr, again]] = (await conns.conn.multi()
      .call("XREVRANGE", scan.stateKey, "+", "-", "COUNT", 1)
      .call("JSON.GET", key)
      .exec())! as [Error | null, any][];
    if (stateErr) throw stateErr;
    if (docErr) throw docErr;
    if (again !== null) {
      scan.doc = checkDocument(JSON.parse(again), key);
      scan.docText = again;
    }
    if (states.length) scan.noteState(states[0]);
    return scan;
  }

  private noteState([id, fields]: [string, string[]]): void {
    this.stateId = id;
    const i = fields.indexOf("state");
    if (i >= 0 && i % 2 === 0) this.state = Number(fields[i + 1]) as ScanState;
  }

  /**
   * Wait for the next state (§6.3): true when the state changed (the document is
   * reloaded), false on timeout. `block: false` only looks; `timeout` in seconds, 0 = forever.
   */
  async update({ block = true, timeout = 0 } = {}): Promise<boolean> {
    if (this.state === ScanState.CLOSED) return false;
    let raw: any;
    if (block) {
      const ttl = Number(await this.conns.conn.call("TTL", this.key));
      if (ttl === -2 || (ttl >= 0 && ttl <= 10)) return false; // being deleted (§9.3)
      raw = await this.conns.blocking().call("XREAD", "BLOCK", Math.round(timeout * 1000), "STREAMS", this.stateKey, this.stateId);
    } else {
      raw = await this.conns.conn.call("XREAD", "STREAMS", this.stateKey, this.stateId);
    }
    if (!raw || !raw.length) return false;
    const entries = raw[0][1] as [string, string[]][];
    this.noteState(entries[entries.length - 1]);
    const text = (await this.conns.conn.call("JSON.GET", this.key)) as string | null;
    if (text !== null) {
      this.doc = checkDocument(JSON.parse(text), this.key);
      this.docText = text;
    }
    this.readers.clear();
    return true;
  }

  /** A data stream by name (readers: visible once PREPARED; writers: the ones they declared). */
  stream(name: string): Stream {
    const own = this.writers.get(name);
    if (own) return own;
    let s = this.readers.get(name);
    if (!s) {
      const model = this.doc.data_streams?.[name] as StreamModel | undefined;
      if (!model) throw new BlissdataError(`No stream ${name} in scan ${this.key}`);
      s = new Stream(this.conns, name, normaliseModel(model), false);
      this.readers.set(name, s);
    }
    return s;
  }

  /** `info.h5maps` decoded (§11), from the document text with exact integers; null when absent. */
  h5maps(): Map<string, Map<string, any>> | null {
    const source = this.docText ?? docJson(this.doc);
    const h5 = (parseLossless(source) as any)?.info?.h5maps;
    return h5 === undefined || h5 === null ? null : parseMaps(h5);
  }

  get streams(): Map<string, Stream> {
    return new Map(this.streamNames.map((n) => [n, this.stream(n)]));
  }

  // -- producer --------------------------------------------------------------------
  static async create(conns: Conns, identity: Identity, info: Record<string, unknown> = {}): Promise<Scan> {
    const pk = ulid();
    const doc = {
      pk,
      id: {
        pk: ulid(), name: identity.name, number: identity.number, data_policy: identity.data_policy,
        session: identity.session ?? null, proposal: identity.proposal ?? null,
        collection: identity.collection ?? null, dataset: identity.dataset ?? null, path: identity.path ?? null,
      },
      info: { ...info },
      state_stream: { pk: ulid(), encoding: null, info: null },
      data_streams: {} as Record<string, StreamModel>,
    };
    const key = `esrf:scan:${pk}`;
    const scan = new Scan(conns, key, doc, true);
    const text = scan.documentText();
    const replies = (await conns.conn.multi()
      .call("JSON.SET", key, ".", text)
      .call("XADD", "_SCAN_HISTORY_", "MAXLEN", "~", 2048, "*", "key", key)
      .call("XADD", scan.stateKey, "*", "state", 0)
      .exec())!;
    for (const [err] of replies) if (err) throw err;
    scan.stateId = replies[2][1] as string;
    scan.doc = parseWritten(text);
    scan.savedInfo = docJson(scan.doc.info);
    return scan;
  }

  /** Declare a data stream (before prepare); returns it, writable. */
  createStream(def: StreamDefinition): Stream {
    if (!this.writable) throw new BlissdataError("read-only scan");
    if (this.doc.data_streams[def.name]) throw new ValueError(`Stream ${def.name} already exists`);
    const model: StreamModel = { pk: ulid(), encoding: def.encoding, info: def.info };
    this.doc.data_streams[def.name] = model;
    const s = new Stream(this.conns, def.name, model, true);
    this.writers.set(def.name, s);
    return s;
  }

  private documentText(): string {
    const text = docJson(this.doc);
    if (Buffer.byteLength(docJson(this.doc.info)) > MAX_INFO_BYTES)
      throw new ValueError("scan info exceeds 1 MiB");
    return text;
  }

  private async transition(to: ScanState, allowed: ScanState[] | null): Promise<void> {
    if (!this.writable) throw new BlissdataError("read-only scan");
    if (allowed && !allowed.includes(this.state))
      throw new UnauthorizeStateTransition(`${ScanState[this.state]} -> ${ScanState[to]}`);
    if (to === ScanState.STOPPED || to === ScanState.CLOSED) {
      // a stream whose publication failed is sealed all the same and listed in
      // publish_errors, so that the transition still happens (§5, §6.2)
      for (const [name, s] of this.writers) {
        try {
          await s.seal();
        } catch (err) {
          if (s.error === null || s.sealedLength === null) throw err;
          this.doc.publish_errors ??= {};
          this.doc.publish_errors[name] = { lost: s.lost, error: s.error };
        }
      }
    } else for (const s of this.writers.values()) await s.join().catch(() => undefined); // reported at stop/close
    const text = this.documentText();
    if ((to === ScanState.STARTED || to === ScanState.STOPPED) && docJson(this.doc.info) !== this.savedInfo)
      throw new ValueError("scan info may only change before prepare and before close (§6.2)");
    const replies = (await this.conns.conn.multi()
      .call("JSON.SET", this.key, ".", text)
      .call("XADD", this.stateKey, "*", "state", to)
      .exec())!;
    for (const [err] of replies) if (err) throw err;
    this.doc = parseWritten(text);
    this.savedInfo = docJson(this.doc.info);
    this.stateId = replies[1][1] as string;
    this.state = to;
  }

  prepare() { return this.transition(ScanState.PREPARED, [ScanState.CREATED]); }
  start() { return this.transition(ScanState.STARTED, [ScanState.PREPARED]); }
  stop() { return this.transition(ScanState.STOPPED, [ScanState.STARTED]); }
  close() {
    if (this.state === ScanState.CLOSED) return Promise.resolve(); // SHOULD NOT close twice (§6.2)
    return this.transition(ScanState.CLOSED, null);
  }
}

function normaliseModel(model: any): StreamModel {
  return { pk: model.pk, encoding: model.encoding, info: model.info === "" ? {} : model.info };
}

/** The structure a reader relies on (the full rules are spec/schemas/scan.schema.json). */
function checkDocument(doc: any, key: string): any {
  const bad = (why: string) => new ScanValidationError(`${key}: ${why}`);
  if (!doc || typeof doc !== "object" || Array.isArray(doc)) throw bad("not a scan document");
  if (typeof doc.pk !== "string") throw bad("no pk");
  if (!doc.id || typeof doc.id !== "object" || typeof doc.id.name !== "string" || !Number.isInteger(doc.id.number))
    throw bad("bad identity");
  if (!doc.state_stream || typeof doc.state_stream.pk !== "string") throw bad("no state stream");
  if (doc.info === "" || doc.info === undefined || doc.info === null) doc.info = {};
  if (typeof doc.data_streams !== "object" || doc.data_streams === null) throw bad("no data_streams");
  for (const [name, m] of Object.entries<any>(doc.data_streams))
    if (!m || typeof m.pk !== "string") throw bad(`stream ${name} has no pk`);
  return doc;
}

export { parseDtype };
