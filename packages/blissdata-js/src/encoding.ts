// Entries and encodings of data streams (PROTOCOL.md §7.1, §7.3, §7.4).
import { decode as mpDecode, encode as mpEncode } from "@msgpack/msgpack";
import { MalformedEntryError, UnknownEncodingError, ValueError } from "./errors";
import { Dtype, NDArray, dtypeName, elementsPerItem, hostStr, parseDtype, view } from "./ndarray";

export const MAX_ID = "18446744073709551615";
export const SEAL_ID = `${MAX_ID}-${MAX_ID}`;

export interface Entry {
  index: number; // first point, or the total length for the seal
  length: number; // points held (0 for the seal)
  payload: Buffer | null;
  isSeal: boolean;
}

export const entryEnd = (e: Entry) => e.index + e.length;

const DECIMAL = /^[0-9]+$/;

/** One entry of an XRANGE/XREAD reply: [id, [field, value, ...]] (Buffers). */
export function parseEntry(raw: [Buffer, Buffer[]], stream: string): Entry {
  const id = raw[0].toString("latin1");
  const first = id.split("-", 1)[0];
  if (!DECIMAL.test(first)) throw new MalformedEntryError(`Entry id ${id} is not <index>-<seq> (stream ${stream})`);
  const fields = new Map<string, Buffer>();
  const f = raw[1] || [];
  for (let i = 0; i + 1 < f.length; i += 2) fields.set(f[i].toString("latin1"), f[i + 1]);
  if (first !== MAX_ID) {
    const index = Number(first);
    const payload = fields.get("payload");
    if (payload === undefined) throw new MalformedEntryError(`Entry ${id} of ${stream} has no 'payload' field`);
    const rawLen = fields.get("len");
    if (rawLen === undefined) return { index, length: 1, payload, isSeal: false };
    const text = rawLen.toString("latin1");
    if (!DECIMAL.test(text) || Number(text) < 1)
      throw new MalformedEntryError(`Entry ${id} of ${stream}: 'len' ${JSON.stringify(text)} is not a positive decimal integer`);
    return { index, length: Number(text), payload, isSeal: false };
  }
  const total = fields.get("id")?.toString("latin1");
  if (total === undefined || !DECIMAL.test(total))
    throw new MalformedEntryError(`Seal entry of ${stream} has no decimal 'id' field`);
  return { index: Number(total), length: 0, payload: null, isSeal: true };
}

export function parseEntries(raw: unknown, stream: string): Entry[] {
  if (!raw) return [];
  return (raw as [Buffer, Buffer[]][]).map((r) => parseEntry(r, stream));
}

/** Decoded points: a numeric batch (first axis = points), a list of per-point arrays, or JSON values. */
export type Points = NDArray | NDArray[] | unknown[];

export function pointsLength(p: Points): number {
  return p instanceof NDArray ? p.shape[0] : p.length;
}

export function takePoints(p: Points, indexes: number[]): Points {
  if (p instanceof NDArray) return p.take(indexes);
  return indexes.map((i) => p[i]) as Points;
}

export function pointAt(p: Points, k: number): unknown {
  if (p instanceof NDArray) return p.point(k);
  return p[k];
}

export interface Encoder {
  info(): Record<string, unknown>;
  /** the stream info members a producer records (numeric: dtype name and shape) */
  streamInfo(): Record<string, unknown>;
  decode(entries: Entry[], stream: string): Points;
  empty(): Points;
  /** payload and number of points of one send() */
  encode(data: unknown): [Buffer, number];
}

export class JsonEncoder implements Encoder {
  info() { return { type: "json" }; }
  streamInfo() { return {}; }
  empty(): Points { return []; }
  decode(entries: Entry[], stream: string): Points {
    return entries.map((e) => {
      if (e.length !== 1) throw new MalformedEntryError(`JSON entries hold one point, not ${e.length} (${stream} at ${e.index})`);
      let text: string;
      try {
        text = new TextDecoder("utf-8", { fatal: true }).decode(e.payload!);
      } catch {
        throw new MalformedEntryError(`JSON payload is not UTF-8 (${stream} at ${e.index})`);
      }
      try {
        return JSON.parse(text);
      } catch (err) {
        throw new MalformedEntryError(`Payload is not valid JSON (${stream} at ${e.index}): ${err}`);
      }
    });
  }
  encode(data: unknown): [Buffer, number] {
    const text = JSON.stringify(data, (_k, v) => {
      if (typeof v === "number" && !Number.isFinite(v)) throw new ValueError("JSON streams take no NaN or infinity");
      return v;
    });
    if (text === undefined) throw new ValueError("not a JSON value");
    return [Buffer.from(text, "utf-8"), 1];
  }
}

const prod = (s: number[]) => s.reduce((a, b) => a * b, 1);

export class NumericEncoder implements Encoder {
  readonly dtype: Dtype;
  readonly free: boolean;
  constructor(dtypeStr: string, readonly shape: number[]) {
    this.dtype = parseDtype(dtypeStr);
    if (!Array.isArray(shape) || shape.some((d) => !Number.isInteger(d) || d < -1))
      throw new UnknownEncodingError(`Bad point shape ${JSON.stringify(shape)}`);
    this.free = shape.includes(-1);
  }
  info() { return { type: "numeric", dtype_str: this.dtype.str, shape: [...this.shape] }; }
  streamInfo() { return { dtype: dtypeName(this.dtype), shape: [...this.shape] }; }
  empty(): Points {
    const inner = this.shape.map((d) => (d === -1 ? 0 : d));
    return NDArray.fromBytes(this.dtype.str, [0, ...inner], new Uint8Array(0));
  }
  decode(entries: Entry[], stream: string): Points {
    if (!entries.length) return this.empty();
    const size = this.dtype.itemsize;
    if (!this.free) {
      const pointBytes = prod(this.shape) * size;
      let total = 0;
      for (const e of entries) {
        if (e.payload!.length !== e.length * pointBytes)
          throw new MalformedEntryError(
            `Payload of ${e.payload!.length} bytes does not hold ${e.length} point(s) of ${pointBytes} bytes (${stream} at ${e.index})`);
        total += e.length;
      }
      return NDArray.fromBytes(this.dtype.str, [total, ...this.shape], Buffer.concat(entries.map((e) => e.payload!)));
    }
    const points: NDArray[] = [];
    for (const e of entries) {
      let unpacked: unknown;
      try {
        unpacked = mpDecode(e.payload!);
      } catch (err) {
        throw new MalformedEntryError(`Payload is not valid msgpack (${stream} at ${e.index}): ${err}`);
      }
      if (!Array.isArray(unpacked) || unpacked.length !== 2 || !Array.isArray(unpacked[0]) || !(unpacked[1] instanceof Uint8Array))
        throw new MalformedEntryError(`Payload is not [point_shape, bytes] (${stream} at ${e.index})`);
      const [shape, data] = unpacked as [unknown[], Uint8Array];
      if (shape.length !== this.shape.length ||
          shape.some((d, i) => typeof d !== "number" || !Number.isInteger(d) || d < 0 || (this.shape[i] !== -1 && this.shape[i] !== d)))
        throw new MalformedEntryError(`Point shape ${JSON.stringify(shape)} does not match the stream shape ${JSON.stringify(this.shape)} (${stream} at ${e.index})`);
      const s = shape as number[];
      if (data.byteLength !== e.length * prod(s) * size)
        throw new MalformedEntryError(`Payload of ${data.byteLength} bytes does not hold ${e.length} point(s) of shape ${JSON.stringify(s)} (${stream} at ${e.index})`);
      const block = NDArray.fromBytes(this.dtype.str, [e.length, ...s], data);
      for (let k = 0; k < e.length; k++) points.push(block.point(k));
    }
    const key = (a: NDArray) => a.shape.join(",");
    if (points.every((p) => key(p) === key(points[0]))) return stack(points, this.dtype);
    return points;
  }
  encode(data: unknown): [Buffer, number] {
    const array = data instanceof NDArray ? data : NDArray.from(data, this.dtype.str);
    const own = array.dt;
    if (own.kind !== this.dtype.kind || own.itemsize !== this.dtype.itemsize)
      throw new ValueError(`Expected ${this.dtype.str} data, received ${array.dtype}`);
    if (array.size === 0) throw new ValueError("Cannot send empty data");
    const rank = this.shape.length;
    let batchShape: number[];
    if (array.shape.length === rank) batchShape = [1, ...array.shape];
    else if (array.shape.length === rank + 1) batchShape = array.shape;
    else throw new ValueError(`Expected a point of shape ${JSON.stringify(this.shape)} or a batch of them, received shape ${JSON.stringify(array.shape)}`);
    this.shape.forEach((d, i) => {
      if (d !== -1 && d !== batchShape[i + 1])
        throw new ValueError(`Expected a point of shape ${JSON.stringify(this.shape)}, received shape ${JSON.stringify(array.shape)}`);
    });
    const bytes = array.toBytes(this.dtype.str);
    if (!this.free) return [bytes, batchShape[0]];
    return [Buffer.from(mpEncode([batchShape.slice(1), bytes])), batchShape[0]];
  }
}

function stack(points: NDArray[], d: Dtype): NDArray {
  const inner = points[0].shape;
  const per = prod(inner) * elementsPerItem(d);
  const buf = Buffer.alloc(points.length * per * (d.itemsize / elementsPerItem(d)));
  const out = view(buf.buffer, buf.byteOffset, buf.byteLength, d);
  points.forEach((p, j) => (out as any).set(p.data, j * per));
  return new NDArray(hostStr(d), [points.length, ...inner], out);
}

/** The encoder of a stream model's `encoding` (UnknownEncodingError when unusable). */
export function encoderFrom(encoding: unknown): Encoder {
  if (encoding && typeof encoding === "object") {
    const e = encoding as Record<string, unknown>;
    if (e.type === "json") return new JsonEncoder();
    if (e.type === "numeric") {
      if (typeof e.dtype_str !== "string" || !Array.isArray(e.shape ?? []))
        throw new UnknownEncodingError(`Malformed numeric encoding ${JSON.stringify(e)}`);
      return new NumericEncoder(e.dtype_str, (e.shape ?? []) as number[]);
    }
  }
  throw new UnknownEncodingError(`Unknown encoding ${JSON.stringify(encoding)}`);
}
