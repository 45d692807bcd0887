/**
 * The ClickHouse schema, as numbered migrations: each applied once, recorded in sky_schema, and written
 * so that applying it twice (two aggregators starting at once) is harmless. Only what ClickHouse 18.16
 * (Debian 12) has: MergeTree families with PARTITION BY, materialized views TO a table; no TTL (18.16
 * has none, so retention drops whole partitions), no parameterized queries (values are quoted here).
 */
export interface Migration {
  version: number;
  statements: (db: string) => string[];
}

/** Raw tables by day, so retention drops days; ReplacingMergeTree collapses a window stored twice. */
export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    statements: (db) => [
      `CREATE TABLE IF NOT EXISTS ${db}.sky_windows (
        id String, collector String, host String, instance String, seq UInt64,
        start DateTime, seconds Float64, flows UInt32, doc String
      ) ENGINE = ReplacingMergeTree PARTITION BY toYYYYMMDD(start) ORDER BY (start, id)`,
      `CREATE TABLE IF NOT EXISTS ${db}.sky_flows (
        window_id String, start DateTime, host String, row UInt32,
        src UInt32, dst UInt32, bytes UInt64, packets UInt64, flags UInt8,
        src_vm String, dst_vm String, src_cloud String, dst_cloud String, vni Int32, counted UInt8
      ) ENGINE = ReplacingMergeTree PARTITION BY toYYYYMMDD(start) ORDER BY (start, window_id, row)`,
      ...(['1m', '1h'] as const).flatMap((r) => {
        const bucket = r === '1m' ? 'toStartOfMinute(start)' : 'toStartOfHour(start)';
        const partition = r === '1m' ? 'toYYYYMMDD(t)' : 'toYYYYMM(t)';
        return [
          `CREATE TABLE IF NOT EXISTS ${db}.sky_pairs_${r} (
            t DateTime, src_vm String, dst_vm String, src_cloud String, dst_cloud String, vni Int32,
            bytes UInt64, packets UInt64, flows UInt64
          ) ENGINE = SummingMergeTree PARTITION BY ${partition}
            ORDER BY (t, src_vm, dst_vm, vni, src_cloud, dst_cloud)`,
          `CREATE MATERIALIZED VIEW IF NOT EXISTS ${db}.sky_pairs_${r}_mv TO ${db}.sky_pairs_${r} AS
            SELECT ${bucket} AS t, src_vm, dst_vm, src_cloud, dst_cloud, vni,
              sum(bytes) AS bytes, sum(packets) AS packets, sum(bitAnd(flags, 1)) AS flows
            FROM ${db}.sky_flows WHERE counted = 1
            GROUP BY t, src_vm, dst_vm, src_cloud, dst_cloud, vni`,
        ];
      }),
    ],
  },
];

export const SCHEMA_TABLE = 'sky_schema';

/** What retention drops, by table: its partitions are days (YYYYMMDD) or months (YYYYMM). */
export const RETAINED_TABLES = {
  raw: ['sky_windows', 'sky_flows'],
  minute: ['sky_pairs_1m'],
  hour: ['sky_pairs_1h'],
} as const;
