// Numeric data: a typed array in host byte order plus a shape and a dtype string.
//
// Representation of every dtype of PROTOCOL.md §7.3 (see §7.7 "Numeric data in
// other languages"): b1 -> Uint8Array of 0/1; i1..i8 -> Int8/16/32Array,
// BigInt64Array; u1..u8 -> Uint8/16/32Array, BigUint64Array; f4/f8 ->
// Float32/64Array; f2 -> Uint16Array of IEEE 754 binary16 bit patterns;
// complex c8/c16 -> Float32/64Array of interleaved (real, imaginary), twice
// as long as the number of items; f16 and c32 (not portable) -> Uint8Array
// of the raw bytes of each item, in little-endian order.

import { UnknownEncodingError, ValueError } from "./errors";

export type Kind = "b" | "i" | "u" | "f" | "c";

export interface Dtype {
  /** numpy dtype.str as given, e.g. ">f4" */
  str: string;
  order: "<" | ">" | "|";
  kind: Kind;
  itemsize: number;
}

export type TypedArray =
  | Uint8Array | Int8Array | Int16Array | Uint16Array | Int32Array | Uint32Array
  | BigInt64Array | BigUint64Array | Float32Array | Float64Array;

const VALID: Record<Kind, number[]> = {
  b: [1], i: [1, 2, 4, 8], u: [1, 2, 4, 8], f: [2, 4, 8, 16], c: [8, 16, 32],
};

export function parseDtype(str: string): Dtype {
  const m = /^([<>|=]?)([biufc])(\d+)$/.exec(str);
  if (!m) throw new UnknownEncodingError(`Not a numeric dtype: ${JSON.stringify(str)}`);
  const kind = m[2] as Kind;
  const itemsize = Number(m[3]);
  if (!VALID[kind].includes(itemsize)) throw new UnknownEncodingError(`Not a numeric dtype: ${str}`);
  let order = (m[1] || "|") as Dtype["order"] | "=";
  if (order === "=") order = "<";
  if (itemsize === 1) order = "|";
  else if (order === "|") throw new UnknownEncodingError(`dtype ${str} needs a byte order`);
  return { str, order, kind, itemsize };
}

/** numpy's dtype.str of a dtype ("|i1" for "<i1", "<f8" for "=f8"): what a producer declares. */
export function canonicalStr(d: Dtype): string {
  return `${d.order}${d.kind}${d.itemsize}`;
}

/** The numpy name of a dtype (stream info "dtype"), e.g. float64, complex128, bool. */
export function dtypeName(d: Dtype): string {
  switch (d.kind) {
    case "b": return "bool";
    case "i": return `int${d.itemsize * 8}`;
    case "u": return `uint${d.itemsize * 8}`;
    case "f": return `float${d.itemsize * 8}`;
    case "c": return `complex${d.itemsize * 8}`;
  }
}

/** The host (little-endian) spelling of a dtype: what arrays returned by this client carry. */
export function hostStr(d: Dtype): string {
  return d.itemsize === 1 ? `|${d.kind}1` : `<${d.kind}${d.itemsize}`;
}

export class NDArray {
  constructor(
    /** host-order dtype string ("<f8", "|u1"...) */
    public readonly dtype: string,
    public readonly shape: number[],
    public readonly data: TypedArray,
  ) {}

  get size(): number {
    return this.shape.reduce((a, b) => a * b, 1);
  }

  get dt(): Dtype {
    return parseDtype(this.dtype);
  }

  /** Bytes of the array in host (little-endian) order. */
  hostBytes(): Buffer {
    return Buffer.from(this.data.buffer, this.data.byteOffset, this.data.byteLength);
  }

  /** Bytes in the byte order of `dtype` (a dtype string of the same kind and item size). */
  toBytes(dtype: string = this.dtype): Buffer {
    const d = parseDtype(dtype);
    const own = this.dt;
    if (d.kind !== own.kind || d.itemsize !== own.itemsize)
      throw new ValueError(`Cannot write ${this.dtype} data as ${dtype}`);
    const buf = Buffer.from(this.hostBytes());
    if (d.order === ">") swapInPlace(buf, d);
    return buf;
  }

  /** Point `k` along the first axis (shape = shape[1:]). */
  point(k: number): NDArray {
    const inner = this.shape.slice(1);
    const n = inner.reduce((a, b) => a * b, 1) * this.perItem();
    return new NDArray(this.dtype, inner, this.data.slice(k * n, (k + 1) * n) as TypedArray);
  }

  /** Points `indexes` along the first axis, stacked. */
  take(indexes: number[]): NDArray {
    const inner = this.shape.slice(1);
    const n = inner.reduce((a, b) => a * b, 1) * this.perItem();
    const Ctor = this.data.constructor as any;
    const out: TypedArray = new Ctor(indexes.length * n);
    indexes.forEach((k, j) => (out as any).set(this.data.subarray(k * n, (k + 1) * n), j * n));
    return new NDArray(this.dtype, [indexes.length, ...inner], out);
  }

  /** Typed-array elements per item: 2 for complex (real, imaginary), the item size for f16/c32. */
  perItem(): number {
    return elementsPerItem(this.dt);
  }

  /** Nested JS lists (numbers, bigints, booleans; complex as [re, im]), for humans. */
  toList(): unknown {
    const d = this.dt;
    const per = this.perItem();
    const item = (i: number): unknown => {
      if (d.kind === "b") return this.data[i] !== 0;
      if (d.kind === "c" && (d.itemsize === 8 || d.itemsize === 16)) return [this.data[2 * i], this.data[2 * i + 1]];
      if (d.kind === "f" && d.itemsize === 2) return halfToNumber(this.data[i] as number);
      if (per > 1) return Array.from(this.data.subarray(i * per, (i + 1) * per) as Uint8Array);
      return this.data[i];
    };
    const rec = (dim: number, offset: number): unknown => {
      if (dim === this.shape.length) return item(offset);
      const stride = this.shape.slice(dim + 1).reduce((a, b) => a * b, 1);
      return Array.from({ length: this.shape[dim] }, (_, i) => rec(dim + 1, offset + i * stride));
    };
    return rec(0, 0);
  }

  /** An array from bytes in the byte order of `dtype` (copied, converted to host order). */
  static fromBytes(dtype: string, shape: number[], bytes: Uint8Array): NDArray {
    const d = parseDtype(dtype);
    const buf = Buffer.alloc(bytes.byteLength);
    buf.set(bytes);
    if (d.order === ">") swapInPlace(buf, d);
    return new NDArray(hostStr(d), shape, view(buf.buffer, buf.byteOffset, buf.byteLength, d));
  }

  /** An array of `dtype` from nested JS lists of numbers/booleans/bigints (complex as [re, im]). */
  static from(values: unknown, dtype: string): NDArray {
    const d = parseDtype(dtype);
    const shape: number[] = [];
    let probe: unknown = values;
    const isComplexPair = (v: unknown) =>
      d.kind === "c" && Array.isArray(v) && v.length === 2 && !Array.isArray(v[0]);
    while (Array.isArray(probe) && !isComplexPair(probe)) {
      shape.push(probe.length);
      probe = probe[0];
    }
    const flat: unknown[] = [];
    const walk = (v: unknown, dim: number) => {
      if (dim === shape.length) return void flat.push(v);
      if (!Array.isArray(v) || v.length !== shape[dim]) throw new ValueError("ragged nested list");
      v.forEach((x) => walk(x, dim + 1));
    };
    walk(values, 0);
    const per = elementsPerItem(d);
    const buf = Buffer.alloc(flat.length * d.itemsize);
    const out = view(buf.buffer, buf.byteOffset, buf.byteLength, d);
    flat.forEach((v, i) => {
      if (d.kind === "c") {
        const [re, im] = Array.isArray(v) ? v : [v, 0];
        (out as Float64Array)[2 * i] = Number(re);
        (out as Float64Array)[2 * i + 1] = Number(im);
      } else if (d.kind === "f" && d.itemsize === 2) (out as Uint16Array)[i] = numberToHalf(Number(v));
      else if (d.itemsize === 8 && (d.kind === "i" || d.kind === "u")) (out as BigInt64Array)[i] = BigInt(v as number);
      else if (per === 1) (out as Float64Array)[i] = Number(v);
      else throw new ValueError(`cannot build ${dtype} from numbers`);
    });
    return new NDArray(hostStr(d), shape, out);
  }
}

export function elementsPerItem(d: Dtype): number {
  if (d.kind === "c") return d.itemsize === 32 ? 32 : 2;
  if (d.kind === "f" && d.itemsize === 16) return 16;
  return 1;
}

function swapInPlace(buf: Buffer, d: Dtype): void {
  const w = d.kind === "c" ? d.itemsize / 2 : d.itemsize;
  if (w === 1) return;
  for (let i = 0; i + w <= buf.length; i += w) {
    for (let a = i, b = i + w - 1; a < b; a++, b--) {
      const t = buf[a];
      buf[a] = buf[b];
      buf[b] = t;
    }
  }
}

/** A typed array over host-order bytes (the buffer must be aligned: Buffer.alloc is). */
export function view(ab: ArrayBufferLike, off: number, len: number, d: Dtype): TypedArray {
  if (off % 8 !== 0) {
    const copy = new Uint8Array(len);
    copy.set(new Uint8Array(ab, off, len));
    return view(copy.buffer, 0, len, d);
  }
  const k = d.kind, s = d.itemsize;
  if (k === "b" || (k === "u" && s === 1)) return new Uint8Array(ab, off, len);
  if (k === "i" && s === 1) return new Int8Array(ab, off, len);
  if (k === "i" && s === 2) return new Int16Array(ab, off, len / 2);
  if (k === "u" && s === 2) return new Uint16Array(ab, off, len / 2);
  if (k === "i" && s === 4) return new Int32Array(ab, off, len / 4);
  if (k === "u" && s === 4) return new Uint32Array(ab, off, len / 4);
  if (k === "i" && s === 8) return new BigInt64Array(ab, off, len / 8);
  if (k === "u" && s === 8) return new BigUint64Array(ab, off, len / 8);
  if (k === "f" && s === 2) return new Uint16Array(ab, off, len / 2);
  if ((k === "f" && s === 4) || (k === "c" && s === 8)) return new Float32Array(ab, off, len / 4);
  if ((k === "f" && s === 8) || (k === "c" && s === 16)) return new Float64Array(ab, off, len / 8);
  return new Uint8Array(ab, off, len);
}

export function halfToNumber(h: number): number {
  const s = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 0x1f;
  const f = h & 0x3ff;
  if (e === 0) return s * f * 2 ** -24;
  if (e === 31) return f ? NaN : s * Infinity;
  return s * (1 + f / 1024) * 2 ** (e - 15);
}

export function numberToHalf(x: number): number {
  const f32 = new Float32Array([x]);
  const u = new Uint32Array(f32.buffer)[0];
  const sign = (u >> 16) & 0x8000;
  const exp = (u >> 23) & 0xff;
  let mant = u & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0);
  let e = exp - 127 + 15;
  if (e >= 31) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign;
    mant |= 0x800000;
    const shift = 14 - e;
    let half = mant >> shift;
    const rem = mant & ((1 << shift) - 1);
    const mid = 1 << (shift - 1);
    if (rem > mid || (rem === mid && half & 1)) half++;
    return sign | half;
  }
  let half = (e << 10) | (mant >> 13);
  const rem = mant & 0x1fff;
  if (rem > 0x1000 || (rem === 0x1000 && half & 1)) half++;
  return sign | half;
}
