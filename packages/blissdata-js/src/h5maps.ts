// h5maps (PROTOCOL.md §11): parse and decode `info.h5maps`, exactly as writers do.
// Integers must stay exact up to 2**64 - 1: parse the document's text with
// `parseLossless` (JSON.parse rounds 2**64 - 1 and 2**64 to the same double).
import { isLosslessNumber, LosslessNumber, parse as losslessParse } from "lossless-json";
import * as posix from "node:path/posix";
import { BlissdataError } from "./errors";
import { NDArray, numberToHalf } from "./ndarray";

export class H5MapError extends BlissdataError {
  constructor(readonly path: string, message: string) {
    super(`${path}: ${message}`);
  }
}

/** JSON text to values whose numbers are LosslessNumber (their literal text is kept). */
export function parseLossless(text: string): unknown {
  return losslessParse(text);
}

/** Lossless numbers back to plain JS numbers (for members that are not data). */
export function plain(v: unknown): unknown {
  if (isLosslessNumber(v)) return Number((v as LosslessNumber).value);
  if (Array.isArray(v)) return v.map(plain);
  if (v && typeof v === "object") return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, plain(x)]));
  return v;
}

export type Value =
  | { kind: "array"; array: NDArray; dtypeStr: string; bytes: Buffer }
  | { kind: "strings"; shape: number[]; list: unknown }
  | { kind: "compound"; shape: number[]; columns: [string, Value][] }
  | { kind: "stream"; stream: string };

const INLINE_DTYPE = /^(bool|(int|uint)(8|16|32|64)|float(16|32|64|128)|complex(64|128|256))$/;
const BINARY_DTYPE = /^(\|?[iub]1|[><]([iuf][248]|[fc](8|16)|c32))$/;
const INT_TEXT = /^-?\d+$/;

type Leaf = "bool" | "int" | "float" | "str";
const RANK: Record<Leaf, number> = { bool: 0, int: 1, float: 2, str: 3 };

function leafKind(v: unknown): Leaf | null {
  if (typeof v === "boolean") return "bool";
  if (typeof v === "string") return "str";
  if (isLosslessNumber(v)) return INT_TEXT.test((v as LosslessNumber).value) ? "int" : "float";
  return null;
}

function shapeOf(v: unknown, where: string, kinds: Set<Leaf>, what: string): number[] {
  if (Array.isArray(v)) {
    const shapes = v.map((x) => JSON.stringify(shapeOf(x, where, kinds, what)));
    if (new Set(shapes).size > 1) throw new H5MapError(where, `${what} is not rectangular`);
    return [v.length, ...(shapes.length ? JSON.parse(shapes[0]) : [])];
  }
  const k = leafKind(v);
  if (k === null) throw new H5MapError(where, `${v === null ? "null" : typeof v} is not a boolean, number or string`);
  kinds.add(k);
  return [];
}

function flat(v: unknown): unknown[] {
  return Array.isArray(v) ? v.flatMap(flat) : [v];
}

function nest(items: unknown[], shape: number[]): unknown {
  if (!shape.length) return items[0];
  const stride = shape.slice(1).reduce((a, b) => a * b, 1);
  return Array.from({ length: shape[0] }, (_, i) => nest(items.slice(i * stride, (i + 1) * stride), shape.slice(1)));
}

/** A float as Python's repr spells it (shortest round trip, "1.0", "1e+16", "1e-05"). */
export function pyFloatRepr(x: number): string {
  if (Number.isNaN(x)) return "nan";
  if (!Number.isFinite(x)) return x > 0 ? "inf" : "-inf";
  if (x === 0) return Object.is(x, -0) ? "-0.0" : "0.0";
  const [mant, expText] = x.toExponential().split("e");
  const exp = Number(expText);
  const neg = mant.startsWith("-");
  const digits = mant.replace("-", "").replace(".", "");
  let out: string;
  if (exp >= -5 && exp < 16) {
    if (exp >= digits.length - 1) out = digits + "0".repeat(exp - digits.length + 1) + ".0";
    else if (exp >= 0) out = digits.slice(0, exp + 1) + "." + digits.slice(exp + 1);
    else out = "0." + "0".repeat(-exp - 1) + digits;
  } else {
    const m = digits.length > 1 ? digits[0] + "." + digits.slice(1) : digits;
    out = `${m}e${exp < 0 ? "-" : "+"}${String(Math.abs(exp)).padStart(2, "0")}`;
  }
  return (neg ? "-" : "") + out;
}

function leafString(v: unknown): string {
  if (typeof v === "boolean") return v ? "True" : "False";
  if (typeof v === "string") return v;
  const text = (v as LosslessNumber).value;
  return INT_TEXT.test(text) ? BigInt(text).toString() : pyFloatRepr(Number(text));
}

function arrayValue(dtypeStr: string, shape: number[], bytes: Buffer): Value {
  return { kind: "array", array: NDArray.fromBytes(dtypeStr, shape, bytes), dtypeStr, bytes };
}

const I64 = [-(2n ** 63n), 2n ** 63n - 1n];
const U64 = [0n, 2n ** 64n - 1n];

function decodeRaw(raw: unknown, where: string): Value {
  const kinds = new Set<Leaf>();
  const shape = shapeOf(raw, where, kinds, "raw array");
  const kind = [...kinds].sort((a, b) => RANK[b] - RANK[a])[0] ?? "float";
  const leaves = flat(raw);
  if (kind === "str") return { kind: "strings", shape, list: nest(leaves.map(leafString), shape) };
  if (kind === "bool") return arrayValue("|b1", shape, Buffer.from(leaves.map((b) => (b ? 1 : 0))));
  if (kind === "float") {
    const out = new Float64Array(leaves.map((v) => (typeof v === "boolean" ? Number(v) : Number((v as LosslessNumber).value))));
    if (out.some((x) => !Number.isFinite(x))) throw new H5MapError(where, "non-finite number in a raw value");
    return arrayValue("<f8", shape, Buffer.from(out.buffer));
  }
  const ints = leaves.map((v) => (typeof v === "boolean" ? BigInt(v) : BigInt((v as LosslessNumber).value)));
  const lo = ints.reduce((a, b) => (b < a ? b : a), 0n);
  const hi = ints.reduce((a, b) => (b > a ? b : a), 0n);
  if (lo >= I64[0] && hi <= I64[1]) return arrayValue("<i8", shape, Buffer.from(new BigInt64Array(ints).buffer));
  if (lo >= U64[0] && hi <= U64[1]) return arrayValue("<u8", shape, Buffer.from(new BigUint64Array(ints).buffer));
  throw new H5MapError(where, "integers fit neither int64 nor uint64");
}

const FLOAT_TEXT = /^\s*[+-]?((\d+(_\d+)*)?\.?\d*([eE][+-]?\d+)?|nan|inf|infinity)\s*$/i;

function parseFloatText(s: string, where: string): number {
  if (!FLOAT_TEXT.test(s) || !/[\dna]/i.test(s)) throw new H5MapError(where, `${JSON.stringify(s)} is not a number`);
  const t = s.trim().replace(/_/g, "").toLowerCase();
  const sign = t.startsWith("-") ? -1 : 1;
  const body = t.replace(/^[+-]/, "");
  if (body === "nan") return NaN;
  if (body === "inf" || body === "infinity") return sign * Infinity;
  return Number(t);
}

function parseComplexText(s: string, where: string): [number, number] {
  let t = s.trim();
  if (t.startsWith("(") && t.endsWith(")")) t = t.slice(1, -1);
  if (!t.endsWith("j")) return [parseFloatText(t, where), 0];
  const body = t.slice(0, -1);
  let split = -1;
  for (let i = body.length - 1; i > 0; i--)
    if ((body[i] === "+" || body[i] === "-") && !/[eE]/.test(body[i - 1])) {
      split = i;
      break;
    }
  const imagText = split >= 0 ? body.slice(split) : body;
  const imag = imagText === "" || imagText === "+" ? 1 : imagText === "-" ? -1 : parseFloatText(imagText, where);
  return [split >= 0 ? parseFloatText(body.slice(0, split), where) : 0, imag];
}

function decodeInline(raw: any, where: string): Value {
  const dtype = raw.dtype;
  if (typeof dtype !== "string" || !INLINE_DTYPE.test(dtype)) throw new H5MapError(where, `inline dtype ${JSON.stringify(dtype)} is not a numeric numpy name`);
  if (!("value" in raw)) throw new H5MapError(where, "inline item without a value");
  const shape = shapeOf(raw.value, where, new Set(), "inline value");
  const leaves = flat(raw.value);
  const bad = (why: string) => new H5MapError(where, `inline value does not fit ${dtype}: ${why}`);
  const asNumber = (v: unknown): number =>
    typeof v === "boolean" ? Number(v) : typeof v === "string" ? parseFloatText(v, where) : Number((v as LosslessNumber).value);
  const m = /^(bool|int|uint|float|complex)(\d*)$/.exec(dtype)!;
  const bits = Number(m[2] || 8);
  const size = bits / 8;
  if (m[1] === "bool") {
    return arrayValue("|b1", shape, Buffer.from(leaves.map((v) => (typeof v === "string" ? (v === "True" || Number(v) !== 0 ? 1 : 0) : asNumber(v) !== 0 ? 1 : 0))));
  }
  if (m[1] === "int" || m[1] === "uint") {
    const lo = m[1] === "int" ? -(2n ** BigInt(bits - 1)) : 0n;
    const hi = m[1] === "int" ? 2n ** BigInt(bits - 1) - 1n : 2n ** BigInt(bits) - 1n;
    const buf = Buffer.alloc(leaves.length * size);
    leaves.forEach((v, i) => {
      let n: bigint;
      if (typeof v === "boolean") n = BigInt(v);
      else if (typeof v === "string") {
        if (!/^\s*[+-]?\d+\s*$/.test(v)) throw bad(`${JSON.stringify(v)} is not an integer`);
        n = BigInt(v.trim());
      } else {
        const text = (v as LosslessNumber).value;
        if (INT_TEXT.test(text)) n = BigInt(text);
        else {
          const f = Number(text);
          if (!Number.isFinite(f)) throw bad("not finite");
          n = BigInt(Math.trunc(f));
        }
      }
      if (n < lo || n > hi) throw bad(`${n} out of range`);
      if (size === 1) m[1] === "int" ? buf.writeInt8(Number(n), i) : buf.writeUInt8(Number(n), i);
      else if (size === 2) m[1] === "int" ? buf.writeInt16LE(Number(n), 2 * i) : buf.writeUInt16LE(Number(n), 2 * i);
      else if (size === 4) m[1] === "int" ? buf.writeInt32LE(Number(n), 4 * i) : buf.writeUInt32LE(Number(n), 4 * i);
      else m[1] === "int" ? buf.writeBigInt64LE(n, 8 * i) : buf.writeBigUInt64LE(n, 8 * i);
    });
    return arrayValue(size === 1 ? `|${m[1][0]}1` : `<${m[1][0]}${size}`, shape, buf);
  }
  if (m[1] === "float") {
    if (bits === 128) throw bad("float128 (x86 extended precision) is not supported by this client");
    const buf = Buffer.alloc(leaves.length * size);
    leaves.forEach((v, i) => {
      const x = asNumber(v);
      if (bits === 16) buf.writeUInt16LE(numberToHalf(x), 2 * i);
      else if (bits === 32) buf.writeFloatLE(x, 4 * i);
      else buf.writeDoubleLE(x, 8 * i);
    });
    return arrayValue(`<f${size}`, shape, buf);
  }
  if (bits === 256) throw bad("complex256 is not supported by this client");
  const half = size / 2;
  const buf = Buffer.alloc(leaves.length * size);
  leaves.forEach((v, i) => {
    const [re, im] = typeof v === "string" ? parseComplexText(v, where) : [asNumber(v), 0];
    if (half === 4) {
      buf.writeFloatLE(re, size * i);
      buf.writeFloatLE(im, size * i + 4);
    } else {
      buf.writeDoubleLE(re, size * i);
      buf.writeDoubleLE(im, size * i + 8);
    }
  });
  return arrayValue(`<c${size}`, shape, buf);
}

function checkBinaryDtype(dtype: unknown, where: string): string {
  if (typeof dtype !== "string" || !BINARY_DTYPE.test(dtype)) throw new H5MapError(where, `dtype ${JSON.stringify(dtype)} is not an array-interface type string`);
  return dtype;
}

function decodeB64(raw: any, where: string): Value {
  const dtype = checkBinaryDtype(raw.dtype, where);
  const text = raw.value ?? "";
  if (typeof text !== "string" || text.length % 4 !== 0 || !/^[A-Za-z0-9+/]*={0,2}$/.test(text))
    throw new H5MapError(where, "bad inline_b64 value: not base64");
  const bytes = Buffer.from(text, "base64");
  const itemsize = Number(dtype.replace(/^[|<>]?[a-z]/, ""));
  if (bytes.length % itemsize) throw new H5MapError(where, "bad inline_b64 value: size is not a multiple of the item size");
  const count = bytes.length / itemsize;
  let shape: number[] = [count];
  if (raw.shape !== undefined && raw.shape !== null) {
    const s = plain(raw.shape);
    if (!Array.isArray(s) || s.some((n) => !Number.isInteger(n) || n < 0) || s.reduce((a: number, b: number) => a * b, 1) !== count)
      throw new H5MapError(where, "bad inline_b64 value: shape does not match the data");
    shape = s as number[];
  }
  const str = dtype.length === 2 ? `|${dtype}` : dtype;
  return arrayValue(str, shape, bytes);
}

function shapeOfValue(v: Value): number[] {
  return v.kind === "array" ? v.array.shape : v.kind === "stream" ? [] : v.shape;
}

function decodeCompound(raw: any, where: string): Value {
  const columns = raw.columns;
  if (!Array.isArray(columns) || !columns.length) throw new H5MapError(where, "compound needs a non-empty list of columns");
  const out: [string, Value][] = [];
  for (const c of columns) {
    if (!Array.isArray(c) || c.length !== 2 || typeof c[0] !== "string") throw new H5MapError(where, "compound column must be [name, value]");
    out.push([c[0], decode(c[1], `${where}['${c[0]}']`, false)]);
  }
  if (new Set(out.map((c) => c[0])).size !== out.length) throw new H5MapError(where, "compound column names repeat");
  if (new Set(out.map((c) => JSON.stringify(shapeOfValue(c[1])))).size !== 1) throw new H5MapError(where, "compound columns differ in shape");
  return { kind: "compound", shape: shapeOfValue(out[0][1]), columns: out };
}

export function decode(raw: unknown, where: string, allowStream = false): Value {
  if (!raw || typeof raw !== "object" || Array.isArray(raw)) return decodeRaw(raw, where);
  const r = raw as any;
  if (isLosslessNumber(raw)) return decodeRaw(raw, where);
  switch (r.type) {
    case "stream":
      if (!allowStream) throw new H5MapError(where, "a stream reference is not a static value");
      if (typeof r.stream !== "string" || !r.stream) throw new H5MapError(where, "stream reference without a stream name");
      return { kind: "stream", stream: r.stream };
    case "inline": return decodeInline(r, where);
    case "inline_b64": return decodeB64(r, where);
    case "compound": return decodeCompound(r, where);
  }
  throw new H5MapError(where, `unknown item type ${JSON.stringify(r.type)}`);
}

export type Item = Record<string, unknown> & { type: string };
const OBJECT_TYPES = ["group", "dataset", "soft_link", "external_link", "external_binary_dataset", "virtual_dataset"];

export function joinPath(parent: string, name: string): string {
  return parent.replace(/\/+$/, "") + "/" + name;
}

function text(raw: any, key: string, where: string): string {
  const v = raw[key];
  if (typeof v !== "string" || !v) throw new H5MapError(where, `${key} must be a non-empty string`);
  return v;
}

/** Parse one item and everything below it into `out` (path -> item with decoded values). */
export function parseItem(raw: any, where: string, out: Map<string, { item: any; attributes: Map<string, Value> | null; value?: Value }>): void {
  const kind = raw && typeof raw === "object" && !Array.isArray(raw) && !isLosslessNumber(raw) ? raw.type : undefined;
  if (!OBJECT_TYPES.includes(kind)) {
    out.set(where, { item: { type: "dataset" }, attributes: new Map(), value: decode(raw, where, true) });
    return;
  }
  const attrsRaw = raw.attributes ?? {};
  if (!attrsRaw || typeof attrsRaw !== "object" || Array.isArray(attrsRaw) || isLosslessNumber(attrsRaw)) throw new H5MapError(where, "attributes must be a mapping");
  const attributes = new Map(Object.entries(attrsRaw).map(([k, v]) => [k, decode(v, `${where}@${k}`, false)]));
  if (kind === "group") {
    const children = raw.children ?? {};
    if (!children || typeof children !== "object" || Array.isArray(children) || isLosslessNumber(children)) throw new H5MapError(where, "group children must be a mapping");
    out.set(where, { item: { type: "group" }, attributes });
    for (const [name, child] of Object.entries(children)) parseItem(child, joinPath(where, name), out);
    return;
  }
  if (kind === "dataset") {
    if (!("value" in raw)) throw new H5MapError(where, "dataset without a value");
    out.set(where, { item: { type: "dataset" }, attributes, value: decode(raw.value, where, true) });
    return;
  }
  if (kind === "soft_link") {
    out.set(where, { item: { type: "soft_link", target_path: text(raw, "target_path", where) }, attributes: null });
    return;
  }
  if (kind === "external_link") {
    out.set(where, { item: { type: "external_link", target_file: text(raw, "target_file", where), target_path: text(raw, "target_path", where) }, attributes: null });
    return;
  }
  const dtype = checkBinaryDtype(raw.dtype, where);
  const shape = plain(raw.shape);
  if (!Array.isArray(shape) || shape.some((n) => !Number.isInteger(n) || n < 0)) throw new H5MapError(where, "shape must be a list of non-negative integers");
  if (kind === "external_binary_dataset") {
    const files = raw.files;
    if (!Array.isArray(files) || !files.length) throw new H5MapError(where, "external_binary_dataset needs a non-empty list of files");
    const parsed = files.map((f: any) => {
      if (!f || typeof f !== "object" || !("name" in f) || !("offset" in f)) throw new H5MapError(where, "external file needs name and offset");
      const offset = Number(plain(f.offset));
      if (!Number.isFinite(offset)) throw new H5MapError(where, "external file needs name and offset");
      return [f.name, Math.trunc(offset), f.size === undefined ? null : plain(f.size)];
    });
    out.set(where, { item: { type: kind, dtype, shape, files: parsed }, attributes });
    return;
  }
  const sources = raw.virtual_sources;
  if (!Array.isArray(sources) || !sources.length) throw new H5MapError(where, "virtual_dataset needs a non-empty list of virtual_sources");
  const parsed = sources.map((s: any) => {
    if (!s || typeof s !== "object" || !["vspace", "src_file", "src_dataset", "src_space"].every((k) => k in s))
      throw new H5MapError(where, "virtual source needs vspace, src_file, src_dataset, src_space");
    return plain({ vspace: s.vspace, src_file: s.src_file, src_dataset: s.src_dataset, src_space: s.src_space });
  });
  out.set(where, { item: { type: kind, dtype, shape, virtual_sources: parsed }, attributes });
}

/** Every file of a map: file key -> (item path -> parsed item). Throws H5MapError. */
export function parseMaps(h5maps: unknown): Map<string, Map<string, any>> {
  if (!h5maps || typeof h5maps !== "object" || Array.isArray(h5maps)) throw new H5MapError("info", "'h5maps' must map file paths to root groups");
  const maps = new Map<string, Map<string, any>>();
  for (const [path, raw] of Object.entries(h5maps)) {
    const key = path.startsWith("/") ? posix.normalize(path).replace(/(.)\/+$/, "$1") : path;
    if (maps.has(key)) throw new H5MapError("info", `'h5maps' names the file ${key} twice`);
    if (!raw || typeof raw !== "object" || (raw as any).type !== "group") throw new H5MapError(path, "the root item must be a group");
    const items = new Map<string, any>();
    parseItem(raw, "/", items);
    maps.set(key, items);
  }
  return maps;
}
