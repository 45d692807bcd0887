import { Readable } from 'node:stream';
import { type ClickHouseClient, ClickHouseLogLevel, createClient } from '@clickhouse/client';
import { FLOW_FLAG, type WindowDocument, type WindowFlow } from '../../capture/window-document.js';
import { MIGRATIONS, RETAINED_TABLES, SCHEMA_TABLE } from './clickhouse-schema.js';
import { byWindowOrder, type LabelledWindow, type TimeRange, type WindowStore } from './window-store.js';

export interface ClickHouseTarget {
  /** http://host:port */
  url: string;
  database: string;
  user: string;
  password: string;
}

/** Days of history kept per resolution; older partitions are dropped (whole days, or months for 1 h). */
export interface Retention {
  rawDays: number;
  minuteDays: number;
  hourDays: number;
}

/** Flow rows read per query when replaying a range: bounds `graph`'s memory whatever the range. */
const ROWS_PER_CHUNK = 500_000;

/** Windows and their flow rows in ClickHouse; see clickhouse-schema.ts for the tables. */
export class ClickHouseStore implements WindowStore {
  private constructor(
    private readonly client: ClickHouseClient,
    private readonly db: string,
  ) {}

  /** Connects, creates the database and applies the migrations it lacks. */
  static async open(target: ClickHouseTarget): Promise<ClickHouseStore> {
    const client = createClient({
      url: target.url,
      username: target.user,
      password: target.password,
      request_timeout: 120_000,
      log: { level: ClickHouseLogLevel.OFF },
    });
    const db = quoteName(target.database);
    const store = new ClickHouseStore(client, db);
    try {
      await client.command({ query: `CREATE DATABASE IF NOT EXISTS ${db}` });
      await client.command({
        query: `CREATE TABLE IF NOT EXISTS ${db}.${SCHEMA_TABLE} (version UInt32, applied DateTime) ENGINE = MergeTree ORDER BY version`,
      });
      const applied = await store.rows<{ v: number }>(`SELECT max(version) AS v FROM ${db}.${SCHEMA_TABLE}`);
      const current = Number(applied[0]?.v ?? 0);
      for (const m of MIGRATIONS.filter((x) => x.version > current)) {
        for (const query of m.statements(db)) await client.command({ query });
        await client.insert({
          table: `${db}.${SCHEMA_TABLE}`,
          values: [{ version: m.version, applied: Math.floor(Date.now() / 1000) }],
          format: 'JSONEachRow',
        });
      }
    } catch (err) {
      await client.close();
      throw err;
    }
    return store;
  }

  async put(windows: readonly LabelledWindow[]): Promise<number> {
    const unique = [...new Map(windows.map((w) => [w.doc.id, w])).values()];
    if (unique.length === 0) return 0;
    const held = new Set(
      (
        await this.rows<{ id: string }>(
          `SELECT id FROM ${this.db}.sky_windows WHERE id IN (${unique.map((w) => quote(w.doc.id)).join(',')})`,
        )
      ).map((r) => r.id),
    );
    const fresh = unique.filter((w) => !held.has(w.doc.id));
    if (fresh.length === 0) return 0;
    // The flows first, the window row last: a window row says its flows are all in (a crash between the
    // two leaves flows that `windows` ignores until the window comes again and is stored whole).
    if (fresh.some((w) => w.doc.flows.length > 0))
      await this.client.insert({
        table: `${this.db}.sky_flows`,
        columns: [...FLOW_COLUMNS],
        values: Readable.from(flowRows(fresh), { objectMode: false }),
        format: 'TabSeparated',
      });
    await this.client.insert({
      table: `${this.db}.sky_windows`,
      values: fresh.map(({ doc }) => ({
        id: doc.id,
        collector: doc.collector,
        host: doc.host,
        instance: doc.instance,
        seq: doc.seq,
        start: startOf(doc),
        seconds: doc.window.seconds,
        flows: doc.flows.length,
        doc: JSON.stringify({ ...doc, flows: [] }),
      })),
      format: 'JSONEachRow',
    });
    return fresh.length;
  }

  async *windows(range: TimeRange): AsyncIterable<WindowDocument> {
    const where = `start >= toDateTime(${Math.floor(range.since)}) AND start < toDateTime(${Math.ceil(range.until)})`;
    const starts = await this.rows<{ s: number; n: number }>(
      `SELECT toUInt32(start) AS s, sum(flows) AS n FROM (SELECT start, flows FROM ${this.db}.sky_windows WHERE ${where} LIMIT 1 BY id) GROUP BY s ORDER BY s`,
    );
    let i = 0;
    while (i < starts.length) {
      // Whole seconds of windows at a time, up to ROWS_PER_CHUNK flow rows (one second may exceed it).
      const from = Number(starts[i]?.s);
      let rows = 0;
      let to = from;
      while (i < starts.length && (rows === 0 || rows + Number(starts[i]?.n) <= ROWS_PER_CHUNK)) {
        rows += Number(starts[i]?.n);
        to = Number(starts[i]?.s);
        i++;
      }
      yield* await this.chunk(`start >= toDateTime(${from}) AND start <= toDateTime(${to})`);
    }
  }

  private async chunk(where: string): Promise<WindowDocument[]> {
    const docs = new Map<string, WindowDocument>();
    for (const r of await this.rows<{ doc: string }>(
      `SELECT doc FROM ${this.db}.sky_windows WHERE ${where} LIMIT 1 BY id`,
    )) {
      const doc = JSON.parse(r.doc) as WindowDocument;
      docs.set(doc.id, doc);
    }
    const result = await this.client.query({
      query: `SELECT window_id, src, dst, bytes, packets, flags FROM ${this.db}.sky_flows WHERE ${where} ORDER BY window_id, row LIMIT 1 BY window_id, row`,
      format: 'JSONCompact',
    });
    const body = (await result.json()) as { data: [string, number, number, string, string, number][] };
    for (const [id, src, dst, bytes, packets, flags] of body.data) {
      const flow: WindowFlow = [src, dst, Number(bytes), Number(packets), flags];
      docs.get(id)?.flows.push(flow);
    }
    return [...docs.values()].sort(byWindowOrder);
  }

  /** Drops the partitions older than each resolution keeps. */
  async applyRetention(retention: Retention, nowSeconds: number): Promise<number> {
    let dropped = 0;
    const tables: [readonly string[], number][] = [
      [RETAINED_TABLES.raw, retention.rawDays],
      [RETAINED_TABLES.minute, retention.minuteDays],
      [RETAINED_TABLES.hour, retention.hourDays],
    ];
    for (const [names, days] of tables) {
      const cutoff = new Date((nowSeconds - days * 86400) * 1000);
      for (const table of names) {
        const parts = await this.rows<{ partition: string }>(
          `SELECT DISTINCT partition FROM system.parts WHERE database = ${quote(unquoteName(this.db))} AND table = ${quote(table)} AND active`,
        );
        for (const { partition } of parts) {
          if (!partitionEndsBefore(partition, cutoff)) continue;
          await this.client.command({ query: `ALTER TABLE ${this.db}.${table} DROP PARTITION ${partition}` });
          dropped++;
        }
      }
    }
    return dropped;
  }

  /** The hypervisors whose windows the store holds. */
  async capturedHosts(): Promise<string[]> {
    return (await this.rows<{ host: string }>(`SELECT DISTINCT host FROM ${this.db}.sky_windows`)).map(
      (r) => r.host,
    );
  }

  /** Compressed bytes on disk per flow row, and the rows: for the benchmark. */
  async flowRowBytes(): Promise<{ rows: number; bytes: number }> {
    const [r] = await this.rows<{ rows: number; bytes: number }>(
      `SELECT sum(rows) AS rows, sum(bytes_on_disk) AS bytes FROM system.parts WHERE database = ${quote(unquoteName(this.db))} AND table = 'sky_flows' AND active`,
    );
    return { rows: Number(r?.rows ?? 0), bytes: Number(r?.bytes ?? 0) };
  }

  async close(): Promise<void> {
    await this.client.close();
  }

  private async rows<T>(query: string): Promise<T[]> {
    const result = await this.client.query({ query, format: 'JSONEachRow' });
    return (await result.json()) as T[];
  }
}

const FLOW_COLUMNS = [
  'window_id',
  'start',
  'host',
  'row',
  'src',
  'dst',
  'bytes',
  'packets',
  'flags',
  'src_vm',
  'src_cloud',
  'dst_vm',
  'dst_cloud',
  'vni',
  'counted',
] as const;

/**
 * The windows' flow rows as TabSeparated text, a window at a time: a tenth of the work of JSON objects,
 * here and in the server, and never the whole batch in memory at once.
 */
function* flowRows(windows: readonly LabelledWindow[]): Generator<string> {
  for (const { doc, endpoints, counted } of windows) {
    const head = `${tsv(doc.id)}\t${startOf(doc)}\t${tsv(doc.host)}`;
    const named = endpoints.map((e) => `${tsv(e.id)}\t${tsv(e.cloud)}`);
    const rows = doc.flows.map(([src, dst, bytes, packets, flags], row) => {
      // A broadcast or multicast row has no one receiver.
      const group = (flags & (FLOW_FLAG.broadcast | FLOW_FLAG.multicast)) !== 0;
      const vni = doc.endpoints[src]?.[4] ?? doc.endpoints[dst]?.[4] ?? -1;
      return `${head}\t${row}\t${src}\t${dst}\t${bytes}\t${packets}\t${flags}\t${named[src]}\t${group ? '\t' : named[dst]}\t${vni}\t${counted[row]}\n`;
    });
    if (rows.length > 0) yield rows.join('');
  }
}

/** A string as a TabSeparated field: backslash, tab and newline escaped. */
function tsv(text: string): string {
  return /[\\\t\n]/.test(text)
    ? text.replace(/\\/g, '\\\\').replace(/\t/g, '\\t').replace(/\n/g, '\\n')
    : text;
}

function startOf(doc: WindowDocument): number {
  return Math.floor(doc.window.index * doc.window.seconds);
}

/**
 * A partition id YYYYMMDD or YYYYMM whose whole span lies before `cutoff`, a day to spare: the server
 * names partitions in its own time zone, up to 14 h off UTC.
 */
function partitionEndsBefore(partition: string, cutoff: Date): boolean {
  const m = /^(\d{4})(\d{2})(\d{2})?$/.exec(partition);
  if (m === null) return false;
  const [y, mo, d] = [Number(m[1]), Number(m[2]) - 1, m[3] === undefined ? undefined : Number(m[3])];
  const end = d === undefined ? Date.UTC(y, mo + 1, 1) : Date.UTC(y, mo, d + 1);
  return end + 86_400_000 <= cutoff.getTime();
}

/** A string literal, as ClickHouse reads one in single quotes. */
function quote(text: string): string {
  return `'${text.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
}

function quoteName(name: string): string {
  return `\`${name.replace(/\\/g, '\\\\').replace(/`/g, '\\`')}\``;
}

function unquoteName(quoted: string): string {
  return quoted.slice(1, -1).replace(/\\(.)/g, '$1');
}
