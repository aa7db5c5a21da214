// Data streams: reading by index and slice, cursors, publishing and sealing (PROTOCOL.md §7, §8).
import type Redis from "ioredis";
import {
  EndOfStream, IndexError, IndexNoMoreThereError, IndexNotYetThereError, IndexWontBeThereError,
  PublishError, ValueError,
} from "./errors";
import { Encoder, Entry, MAX_ID, Points, encoderFrom, entryEnd, parseEntries, pointAt, pointsLength, takePoints } from "./encoding";

export interface StreamModel {
  pk: string;
  encoding: unknown;
  info: unknown;
}

/** Connections a stream uses: `conn` for commands, `blocking()` for blocking reads. */
export interface Conns {
  conn: Redis;
  blocking(): Redis;
}

export class Stream {
  readonly key: string;
  readonly encoder: Encoder;
  private sealTotal: number | null = null;
  // producer side
  private nextIndex = 0;
  private queue: [Buffer, number][] = [];
  private sealed = false;

  constructor(readonly conns: Conns, readonly name: string, readonly model: StreamModel, readonly writable = false) {
    this.key = `esrf:stream:${model.pk}`;
    this.encoder = encoderFrom(model.encoding);
  }

  get info(): Record<string, unknown> {
    const i = this.model.info;
    return i && typeof i === "object" ? (i as Record<string, unknown>) : {};
  }

  get kind(): "json" | "array" {
    return (this.model.encoding as any)?.type === "json" ? "json" : "array";
  }

  private get conn(): Redis {
    return this.conns.conn;
  }

  async revrange(end: string | number = "+", start: string | number = "-", count?: number): Promise<Entry[]> {
    const args: (string | number)[] = [this.key, end, start];
    if (count !== undefined) args.push("COUNT", count);
    const raw = await this.conn.callBuffer("XREVRANGE", ...args);
    return parseEntries(raw, this.name).reverse();
  }

  async range(start: string | number = "-", end: string | number = "+", count?: number): Promise<Entry[]> {
    const args: (string | number)[] = [this.key, start, end];
    if (count !== undefined) args.push("COUNT", count);
    return parseEntries(await this.conn.callBuffer("XRANGE", ...args), this.name);
  }

  decode(entries: Entry[]): Points {
    return this.encoder.decode(entries.filter((e) => !e.isSeal), this.name);
  }

  noteSeal(e: Entry | undefined): void {
    if (e?.isSeal) this.sealTotal = e.index;
  }

  get sealedLength(): number | null {
    return this.sealTotal;
  }

  /** The number of points (§7.1). */
  async length(): Promise<number> {
    if (this.sealTotal !== null) return this.sealTotal;
    const last = await this.revrange("+", "-", 1);
    if (!last.length) return 0;
    this.noteSeal(last[0]);
    return entryEnd(last[0]) + (last[0].isSeal ? 0 : 0);
  }

  async isSealed(): Promise<boolean> {
    if (this.sealTotal === null) {
      const e = await this.range(MAX_ID, "+", 1);
      this.noteSeal(e[0]);
    }
    return this.sealTotal !== null;
  }

  /** Point `index` (negative: from the end of a sealed stream). */
  async get(index: number): Promise<unknown> {
    if (index < 0) {
      if (!(await this.isSealed())) throw new IndexNotYetThereError("Negative indexes have no meaning before the stream is sealed");
      index += this.sealTotal!;
      if (index < 0) throw new IndexError("stream index out of range");
    }
    const found = await this.revrange(index, "-", 1);
    const e = found[0];
    if (e && !e.isSeal && entryEnd(e) > index) return pointAt(this.decode([e]), index - e.index);
    // not there: read again with the last entry in one transaction (trimmed, not yet, never)
    const replies = (await this.conn.multi()
      .callBuffer("XREVRANGE", this.key, index, "-", "COUNT", 1)
      .callBuffer("XREVRANGE", this.key, "+", "-", "COUNT", 1)
      .exec())!;
    for (const [err] of replies) if (err) throw err;
    const again = parseEntries(replies[0][1], this.name);
    const last = parseEntries(replies[1][1], this.name);
    if (!last.length) throw new IndexNotYetThereError(`Index ${index} not yet published`);
    this.noteSeal(last[0]);
    if (!again.length) {
      if (index < entryEnd(last[0])) throw new IndexNoMoreThereError(`Index ${index} has been trimmed off`);
    } else if (!again[0].isSeal && entryEnd(again[0]) > index) {
      return pointAt(this.decode([again[0]]), index - again[0].index);
    }
    if (last[0].isSeal) throw new IndexWontBeThereError(`Stream is sealed, there will be no index ${index}`);
    throw new IndexNotYetThereError(`Index ${index} not yet published`);
  }

  /** Points [start:stop:step] as Python slices them (null = omitted bound). */
  async slice(start: number | null = null, stop: number | null = null, step: number | null = null): Promise<Points> {
    if (step !== null && step <= 0) throw new ValueError("slice step must be a positive integer");
    if ((start !== null && start < 0) || (stop !== null && stop < 0)) {
      if (!(await this.isSealed())) throw new IndexNotYetThereError("Negative indexes have no meaning before the stream is sealed");
    }
    const total = this.sealTotal;
    let a = start === null ? 0 : start < 0 ? Math.max(start + total!, 0) : start;
    let b = stop === null ? Number.MAX_SAFE_INTEGER : stop < 0 ? Math.max(stop + total!, 0) : stop;
    if (total !== null) b = Math.min(b, total);
    if (b <= a) return this.encoder.empty();
    const [prevRaw, rangeRaw] = (await this.conn.pipeline()
      .callBuffer("XREVRANGE", this.key, a, "-", "COUNT", 1)
      .callBuffer("XRANGE", this.key, a, b === Number.MAX_SAFE_INTEGER ? "+" : b - 1)
      .exec())!.map(([err, v]) => {
      if (err) throw err;
      return v;
    });
    const previous = parseEntries(prevRaw, this.name).filter((e) => !e.isSeal);
    const seal = parseEntries(rangeRaw, this.name).find((e) => e.isSeal);
    this.noteSeal(seal);
    const entries = parseEntries(rangeRaw, this.name).filter((e) => !e.isSeal && e.index < b);
    if (!entries.length || entries[0].index > a) {
      if (previous.length && entryEnd(previous[0]) > a) entries.unshift(previous[0]);
      else if (a < (await this.length())) throw new IndexNoMoreThereError(`Index ${a} has been trimmed off`);
      else return this.encoder.empty();
    }
    const data = this.decode(entries);
    const offset = entries[0].index;
    const n = pointsLength(data);
    const from = Math.min(Math.max(a - offset, 0), n);
    const to = Math.min(Math.max(b - offset, 0), n);
    const idx: number[] = [];
    for (let i = from; i < to; i += step ?? 1) idx.push(i);
    if (idx.length === n && from === 0) return data;
    return takePoints(data, idx);
  }

  cursor(): Cursor {
    return new Cursor(this);
  }

  // -- producer --------------------------------------------------------------------
  /** Queue one point, or a batch along the first axis (numeric); one JSON value (json). */
  send(data: unknown): void {
    if (!this.writable) throw new PublishError(`Stream ${this.name} is read-only`);
    if (this.sealed) throw new PublishError(`Stream ${this.name} is sealed`);
    this.queue.push(this.encoder.encode(data));
  }

  /** Publish everything sent so far (one entry per send, in order). */
  async join(): Promise<void> {
    if (!this.queue.length) return;
    const batch = this.queue.splice(0);
    const pipe = this.conn.pipeline();
    for (const [payload, n] of batch) {
      const args: (string | Buffer | number)[] = [this.key, `${this.nextIndex}-1`, "payload", payload];
      if (n > 1) args.push("len", String(n));
      pipe.call("XADD", ...args);
      this.nextIndex += n;
    }
    const replies = (await pipe.exec())!;
    let failed = false;
    replies.forEach(([err], i) => {
      if (!err) return;
      failed = true;
      this.lost += batch[i][1]; // the index still counts them: later points keep their numbers
      this.error ??= `Publishing to stream ${this.name} failed: ${err}`;
    });
    if (failed) throw new PublishError(this.error!);
  }

  /** Points send() accepted that never reached the server (§6.2, `publish_errors`). */
  lost = 0;
  /** The first publication failure of this stream, or null. */
  error: string | null = null;

  /** Flush, seal (FCALL seal_stream), return the total length; sealing twice is not an error. */
  async seal(): Promise<number> {
    // a failed publication does not prevent the seal (§6.2): seal, then report it
    await this.join().catch(() => undefined);
    this.sealed = true;
    let total: number;
    try {
      total = Number(await this.conn.call("FCALL", "seal_stream", 1, this.key));
      this.sealTotal = total;
    } catch (err) {
      if (!String(err).includes("already sealed")) throw new PublishError(`Sealing ${this.name} failed: ${err}`);
      this.sealTotal = null;
      total = await this.length();
    }
    if (this.error !== null) throw new PublishError(this.error);
    return total;
  }
}

/** A run of consecutive points a cursor read: `expired` trimmed ones, then `data`. */
export class View {
  constructor(readonly index: number, private readonly expired: number, private readonly data: Points) {}
  get length(): number {
    return this.expired + pointsLength(this.data);
  }
  /** Points [start:stop] of the view (Python slice bounds; trimmed ones raise IndexNoMoreThereError). */
  getData(start: number | null = null, stop: number | null = null): Points {
    const n = this.length;
    const norm = (x: number | null, dflt: number) => (x === null ? dflt : x < 0 ? Math.max(x + n, 0) : Math.min(x, n));
    const a = norm(start, 0);
    const b = Math.max(norm(stop, n), a);
    if (a < this.expired && b > a)
      throw new IndexNoMoreThereError(`Points ${this.index}..${this.index + this.expired - 1} were trimmed before they were read`);
    const idx: number[] = [];
    for (let i = Math.max(a - this.expired, 0); i < b - this.expired; i++) idx.push(i);
    return takePoints(this.data, idx);
  }
}

class CursorState {
  llIndex = 0;
  eos = false;
  constructor(readonly stream: Stream) {}

  consume(entries: Entry[], lastOnly: boolean): { index: number; expired: number; data: Points } | null {
    let data = entries.filter((e) => !e.isSeal);
    const seal = entries.find((e) => e.isSeal);
    if (seal) this.stream.noteSeal(seal);
    if (lastOnly && data.length) data = data.slice(-1);
    let points: Points;
    let first: number, end: number;
    if (data.length) {
      points = this.stream.decode(data);
      first = data[0].index;
      end = entryEnd(data[data.length - 1]);
    } else {
      points = this.stream.encoder.empty();
      first = end = seal ? seal.index : this.llIndex;
    }
    let expected: number, expired: number;
    if (lastOnly) {
      if (pointsLength(points) > 1) {
        points = takePoints(points, [pointsLength(points) - 1]);
        first = end - 1;
      }
      if (!pointsLength(points) && seal && seal.index > this.llIndex) {
        expected = seal.index - 1;
        expired = 1;
      } else {
        expected = first;
        expired = 0;
      }
    } else {
      expected = this.llIndex;
      expired = Math.max(first - expected, 0);
    }
    this.llIndex = Math.max(end, this.llIndex);
    this.eos = !!seal;
    if (expired + pointsLength(points) === 0) return null;
    return { index: expected, expired, data: points };
  }
}

/** Reads several streams of one data store together (XREAD over all of them). */
export class CursorGroup {
  private active = new Map<string, CursorState>();

  constructor(streams: Stream[]) {
    for (const s of streams) this.active.set(s.key, new CursorState(s));
  }

  /**
   * New points of each stream with news: a Map stream -> View.
   * `block` waits up to `timeout` seconds (0 = forever) for at least one view.
   * Throws EndOfStream once every stream was read to its seal.
   */
  async read({ block = true, timeout = 0, lastOnly = false } = {}): Promise<Map<Stream, View>> {
    if (!this.active.size) throw new EndOfStream("All streams have been read to the end");
    const views = new Map<Stream, View>();
    const states = [...this.active.values()];
    if (lastOnly) {
      const conn = states[0].stream.conns.conn;
      for (const st of states) {
        let entries = await st.stream.revrange("+", st.llIndex, 1);
        if (entries.length && entries[0].isSeal && entries[0].index > st.llIndex) {
          entries = [...(await st.stream.revrange(entries[0].index - 1, st.llIndex, 1)), ...entries];
        }
        void conn;
        this.collect(st, entries.length ? st.consume(entries, true) : null, views);
      }
      // nothing yet: a blocking read waits for the next entries and keeps their last point
      if (views.size || !block || !this.active.size) return this.finish(views);
    }
    const live = [...this.active.values()];
    const keys = live.map((s) => s.stream.key);
    const ids = live.map((s) => String(s.llIndex));
    const conns = live[0].stream.conns;
    let raw: unknown;
    if (block) {
      const args: (string | number)[] = ["BLOCK", Math.round(timeout * 1000), "STREAMS", ...keys, ...ids];
      raw = await conns.blocking().callBuffer("XREAD", ...args);
    } else {
      raw = await conns.conn.callBuffer("XREAD", "STREAMS", ...keys, ...ids);
    }
    const found = new Map<string, Entry[]>();
    for (const [k, entries] of (raw as [Buffer, unknown][]) || []) {
      const st = this.active.get(k.toString())!;
      found.set(st.stream.key, parseEntries(entries, st.stream.name));
    }
    for (const st of live) {
      const entries = found.get(st.stream.key);
      this.collect(st, entries && entries.length ? st.consume(entries, lastOnly) : null, views);
    }
    if (block && !views.size && this.active.size && timeout === 0) return this.read({ block, timeout, lastOnly });
    return this.finish(views);
  }

  private finish(views: Map<Stream, View>): Map<Stream, View> {
    if (!views.size && !this.active.size) throw new EndOfStream("All streams have been read to the end");
    return views;
  }

  private collect(st: CursorState, ev: { index: number; expired: number; data: Points } | null, views: Map<Stream, View>) {
    if (ev) views.set(st.stream, new View(ev.index, ev.expired, ev.data));
    else if (st.eos) this.active.delete(st.stream.key);
  }
}

/** One reader position in one stream. */
export class Cursor {
  private group: CursorGroup;
  constructor(readonly stream: Stream) {
    this.group = new CursorGroup([stream]);
  }
  /** New points as a view; null when nothing arrived (non-blocking, or timeout). */
  async read(opts: { block?: boolean; timeout?: number; lastOnly?: boolean } = {}): Promise<View | null> {
    const views = await this.group.read(opts);
    return views.get(this.stream) ?? null;
  }
}
