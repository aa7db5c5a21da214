// The driver's representations of values, errors and reads (spec/vectors/README.md):
// shared by the conformance requests (driver.ts) and the interop ones (interop.ts).
import { NDArray } from "./ndarray";
import { Points } from "./encoding";
import { Stream, View } from "./stream";
import { mro } from "./errors";

export function error(err: unknown): Record<string, unknown> {
  const names = mro(err);
  return { error: names[0] ?? "Error", mro: names.length ? names : ["Error"], message: String((err as Error)?.message ?? err).slice(0, 200) };
}

export function arrayRepr(a: NDArray) {
  return { dtype: a.dtype, shape: a.shape, base64: a.hostBytes().toString("base64") };
}

export function repr(value: unknown, jsonStream: boolean): Record<string, unknown> {
  if (jsonStream) return { json: value };
  if (value instanceof NDArray) return { array: arrayRepr(value) };
  if (Array.isArray(value)) return { arrays: value.map((v) => arrayRepr(v as NDArray)) };
  throw new Error(`unexpected value ${String(value)}`);
}

export function fromRepr(r: any): unknown {
  if ("json" in r) return r.json;
  const arr = (a: any) => NDArray.fromBytes(a.dtype, a.shape, Buffer.from(a.base64, "base64"));
  if ("arrays" in r) return r.arrays.map(arr);
  return arr(r.array);
}

export async function data(fn: () => Points | Promise<Points> | unknown, jsonStream: boolean) {
  try {
    return { value: repr(await fn(), jsonStream) };
  } catch (err) {
    return error(err);
  }
}

export async function cursorOp(stream: Stream, lastOnly: boolean, jsonStream: boolean) {
  const cursor = stream.cursor();
  const out: unknown[] = [];
  for (let i = 0; i < 5; i++) {
    let view: View | null;
    try {
      view = await cursor.read({ block: false, lastOnly });
    } catch (err) {
      if (mro(err).includes("EndOfStream")) out.push({ end: "EndOfStream" });
      else out.push(error(err));
      break;
    }
    if (view === null) {
      out.push({ end: null });
      break;
    }
    const v = view;
    const n = v.length;
    out.push({
      index: v.index, len: n,
      data: await data(() => v.getData(), jsonStream),
      // get_data(len - 1): the points from len - 1 to the end, a batch of one
      last: await data(() => v.getData(n - 1), jsonStream),
    });
  }
  return out;
}

export async function runOp(stream: Stream, op: any, jsonStream: boolean) {
  try {
    switch (op.op) {
      case "len": return { value: await stream.length() };
      case "is_sealed": return { value: await stream.isSealed() };
      case "cursor": return { value: await cursorOp(stream, !!op.last_only, jsonStream) };
      case "index": return { value: repr(await stream.get(op.index), jsonStream) };
      case "slice": return { value: repr(await stream.slice(op.start ?? null, op.stop ?? null, op.step ?? null), jsonStream) };
      default: throw new Error(`unknown op ${op.op}`);
    }
  } catch (err) {
    return error(err);
  }
}
