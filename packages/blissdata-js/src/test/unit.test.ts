// Unit tests without Redis: dtypes, byte orders, float16, encodings (`npm test`).
import { test } from "node:test";
import * as assert from "node:assert/strict";
import { NDArray, halfToNumber, numberToHalf, parseDtype } from "../ndarray";
import { NumericEncoder, JsonEncoder } from "../encoding";
import { MalformedEntryError, UnknownEncodingError, mro } from "../errors";

test("dtype strings", () => {
  assert.deepEqual(parseDtype(">f4"), { str: ">f4", order: ">", kind: "f", itemsize: 4 });
  assert.equal(parseDtype("|b1").order, "|");
  for (const bad of ["<U4", "|O", "<f3", "f8x", "<b2"]) assert.throws(() => parseDtype(bad), UnknownEncodingError);
});

test("float16 bit patterns", () => {
  for (const [x, h] of [[1.5, 0x3e00], [65504, 0x7bff], [-0, 0x8000], [Infinity, 0x7c00], [2 ** -24, 0x0001]] as const) {
    assert.equal(numberToHalf(x), h);
    assert.ok(Object.is(halfToNumber(h), x));
  }
  assert.ok(Number.isNaN(halfToNumber(numberToHalf(NaN))));
});

test("big-endian bytes round trip in host order", () => {
  const a = NDArray.fromBytes(">i2", [2], Buffer.from([0x01, 0x02, 0xff, 0xfe]));
  assert.deepEqual(Array.from(a.data as Int16Array), [0x0102, -2]);
  assert.deepEqual([...a.toBytes(">i2")], [0x01, 0x02, 0xff, 0xfe]);
  const c = NDArray.from([[1, 2], [3, -4]], "<c16");
  assert.deepEqual(c.shape, [2]);
  assert.deepEqual(c.toList(), [[1, 2], [3, -4]]);
  const u = NDArray.from([2n ** 64n - 1n], ">u8" as string);
  assert.equal((u.data as BigUint64Array)[0], 2n ** 64n - 1n);
});

test("numeric encoder: fixed and free shapes", () => {
  const enc = new NumericEncoder("<f8", [2]);
  const [payload, n] = enc.encode(NDArray.from([[1, 2], [3, 4]], "<f8"));
  assert.equal(n, 2);
  const back = enc.decode([{ index: 0, length: 2, payload, isSeal: false }], "s") as NDArray;
  assert.deepEqual(back.shape, [2, 2]);
  assert.throws(() => enc.decode([{ index: 0, length: 3, payload, isSeal: false }], "s"), MalformedEntryError);
  const free = new NumericEncoder("<i2", [-1]);
  const e1 = free.encode(NDArray.from([1, 2, 3], "<i2"));
  const e2 = free.encode(NDArray.from([[1, 2]], "<i2"));
  const pts = free.decode([
    { index: 0, length: 1, payload: e1[0], isSeal: false },
    { index: 1, length: 1, payload: e2[0], isSeal: false },
  ], "s");
  assert.ok(Array.isArray(pts) && pts.length === 2);
});

test("json encoder refuses NaN; errors carry their bases", () => {
  assert.throws(() => new JsonEncoder().encode({ x: NaN }));
  assert.deepEqual(mro(new MalformedEntryError("x")).slice(0, 3), ["MalformedEntryError", "ValueError", "BlissdataError"]);
});
