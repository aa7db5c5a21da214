// The data store: connection, protocol check, finding and loading scans (PROTOCOL.md §9, §10, §14).
import Redis from "ioredis";
import {
  DatabaseNotInitialisedError, NoScanAvailable, ProtocolVersionError, ScanNotFoundError, ValueError,
} from "./errors";
import { Identity, Scan, ScanState } from "./scan";
import { Conns } from "./stream";

export const PROTOCOL_VERSION = 1;
const HISTORY = "_SCAN_HISTORY_";
const FIELDS = ["name", "number", "data_policy", "session", "proposal", "collection", "dataset", "path"];

/** Escape a TAG value (§10.1): punctuation and space get a backslash, `*` stays a wildcard. */
export function escapeTag(value: string): string {
  return value.replace(/[,.<>{}\[\]"':;!@#$%^&()\-+=~?/ ]/g, (c) => "\\" + c);
}

export class DataStore implements Conns {
  readonly conn: Redis;
  private blockingConn: Redis | null = null;

  private constructor(readonly url: string) {
    this.conn = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1, protocol: 2, enableReadyCheck: false });
  }

  /** Connect and check `_PROTOCOL_VERSION_` before anything else (§14). */
  static async connect(url: string): Promise<DataStore> {
    const ds = new DataStore(url);
    await ds.conn.connect();
    const version = await ds.conn.get("_PROTOCOL_VERSION_");
    if (version === null) {
      await ds.close();
      throw new DatabaseNotInitialisedError(`${url}: no _PROTOCOL_VERSION_ key, the database is not initialised`);
    }
    if (version !== String(PROTOCOL_VERSION)) {
      await ds.close();
      throw new ProtocolVersionError(`${url} speaks protocol ${version}, this client protocol ${PROTOCOL_VERSION}`);
    }
    return ds;
  }

  blocking(): Redis {
    if (!this.blockingConn) this.blockingConn = this.conn.duplicate();
    return this.blockingConn;
  }

  /** Close the connections (commands in flight are answered first; a blocked read is cut). */
  async close(): Promise<void> {
    this.blockingConn?.disconnect();
    try {
      await this.conn.quit();
    } catch {
      this.conn.disconnect();
    }
  }

  /** Whether a scan key counts as deleted (§9.3): TTL 0..10 s, or gone. */
  private async deleted(key: string): Promise<boolean> {
    const ttl = Number(await this.conn.call("TTL", key));
    return ttl === -2 || (ttl >= 0 && ttl <= 10);
  }

  async loadScan(key: string): Promise<Scan> {
    if (await this.deleted(key)) throw new ScanNotFoundError(`Scan ${key} not found`);
    const scan = await Scan.load(this, key).catch((err) => {
      throw err;
    });
    return scan;
  }

  createScan(identity: Identity, info: Record<string, unknown> = {}): Promise<Scan> {
    return Scan.create(this, identity, info);
  }

  /** [timetag, key] of the last scan not deleted. */
  async getLastScan(): Promise<[string, string]> {
    let end = "+";
    for (;;) {
      const raw = (await this.conn.call("XREVRANGE", HISTORY, end, "-", "COUNT", 1)) as [string, string[]][];
      if (!raw.length) throw new NoScanAvailable("No scan in the history");
      const [id, fields] = raw[0];
      const key = fields[fields.indexOf("key") + 1];
      if (!(await this.deleted(key))) return [id, key];
      end = "(" + id;
    }
  }

  async getLastScanTimetag(): Promise<string> {
    const raw = (await this.conn.call("XREVRANGE", HISTORY, "+", "-", "COUNT", 1)) as [string, string[]][];
    return raw.length ? raw[0][0] : "0-0";
  }

  /** [timetag, key] of the first scan created after `since` (blocking up to `timeout` s, 0 = forever). */
  async getNextScan({ since = "$", block = true, timeout = 0 } = {}): Promise<[string, string]> {
    let after = since;
    for (;;) {
      const raw = (block
        ? await this.blocking().call("XREAD", "BLOCK", Math.round(timeout * 1000), "COUNT", 1, "STREAMS", HISTORY, after)
        : await this.conn.call("XREAD", "COUNT", 1, "STREAMS", HISTORY, after)) as any;
      if (!raw || !raw.length) throw new NoScanAvailable("No new scan");
      const [id, fields] = raw[0][1][0] as [string, string[]];
      const key = fields[fields.indexOf("key") + 1];
      if (!(await this.deleted(key))) return [id, key];
      after = id;
    }
  }

  /** Keys of the scans whose identity matches (`*` wildcards in strings); returns [timetag, keys]. */
  async searchExistingScans(query: Partial<Record<string, string | number>> = {}): Promise<[string, string[]]> {
    const terms: string[] = [];
    for (const [field, value] of Object.entries(query)) {
      if (!FIELDS.includes(field)) throw new ValueError(`Cannot search on ${field}`);
      if (field === "number") {
        if (!Number.isInteger(value)) throw new ValueError("number must be an integer");
        terms.push(`@id_number:[${value} ${value}]`);
      } else {
        const v = String(value);
        if (v.includes("*") && v.replace(/\*/g, "").length < 2)
          throw new ValueError(`Wildcard ${JSON.stringify(v)} needs at least 2 literal characters`);
        terms.push(`@id_${field}:{${escapeTag(v)}}`);
      }
    }
    const q = terms.length === 0 ? "*" : terms.length === 1 ? terms[0] : `(${terms.join(" ")})`;
    const run = async (limit: number) => {
      const replies = (await this.conn.multi()
        .call("XREVRANGE", HISTORY, "+", "-", "COUNT", 1)
        .call("FT.SEARCH", "esrf:scan:index", q, "NOCONTENT", "LIMIT", 0, limit)
        .exec())!;
      for (const [err] of replies) if (err) throw err;
      const last = replies[0][1] as [string, string[]][];
      const found = replies[1][1] as [number, ...string[]];
      return [last.length ? last[0][0] : "0-0", Number(found[0]), found.slice(1) as string[]] as const;
    };
    let [timetag, total, keys] = await run(1000);
    if (total > 1000) [timetag, total, keys] = await run(total);
    return [timetag, keys];
  }

  /** The state of each scan (§9.2), without loading the documents. */
  async getScansState(keys: string[]): Promise<Map<string, ScanState>> {
    const out = new Map<string, ScanState>();
    if (!keys.length) return out;
    const pks = (await this.conn.call("JSON.MGET", ...keys, "state_stream.pk")) as (string | null)[];
    const pipe = this.conn.pipeline();
    pks.forEach((pk) => pipe.call("XREVRANGE", `esrf:stream:${pk === null ? "" : JSON.parse(pk)}`, "+", "-", "COUNT", 1));
    const replies = (await pipe.exec())!;
    keys.forEach((key, i) => {
      const [err, raw] = replies[i] as [Error | null, [string, string[]][]];
      if (err || pks[i] === null) throw new ScanNotFoundError(`Scan ${key} not found`);
      const f = raw[0]?.[1] ?? ["state", "0"];
      out.set(key, Number(f[f.indexOf("state") + 1]) as ScanState);
    });
    return out;
  }
}
