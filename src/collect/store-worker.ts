import type { WindowDocument } from '../../capture/window-document.js';
import type { Inventory } from '../inventory/schema.js';
import type { ClickHouseStore, ClickHouseTarget, Retention } from '../store/clickhouse-store.js';
import { openClickHouse } from '../store/store-url.js';
import { type ConsumeOptions, consumeWindows } from './nats-source.js';
import { WindowLabeller } from './window-labels.js';

export interface StoreWorkerOptions extends Omit<ConsumeOptions, 'handle'> {
  store: ClickHouseTarget;
  retention: Retention;
  inventory: Inventory | undefined;
}

const RETENTION_EVERY_MS = 3600_000;

/**
 * One aggregator replica of the scale-out path: windows from the shared durable consumer into ClickHouse,
 * each window once (the store skips ids it holds, the stream redelivers what was not acknowledged). The
 * replicas share the work; their results merge in the store, where `graph` reads them.
 */
export async function runStoreWorker(
  options: StoreWorkerOptions,
): Promise<{ windows: number; stored: number; refused: number }> {
  const labeller = new WindowLabeller(options.inventory);
  let store: ClickHouseStore | undefined;
  let retainedAt = 0;
  let stored = 0;
  const handle = async (docs: WindowDocument[]) => {
    // Opened on first use and kept: a store that is down at start is waited for like one that goes down.
    if (store === undefined) {
      store = await openClickHouse(options.store);
      labeller.addCapturedHosts(await store.capturedHosts());
    }
    if (Date.now() - retainedAt > RETENTION_EVERY_MS) {
      const dropped = await store.applyRetention(options.retention, Date.now() / 1000);
      if (dropped > 0) options.warn(`retention dropped ${dropped} partitions`);
      retainedAt = Date.now();
    }
    stored += await store.put(labeller.labelAll(docs));
  };
  try {
    const counts = await consumeWindows({ ...options, handle });
    return { ...counts, stored };
  } finally {
    await (store as ClickHouseStore | undefined)?.close();
  }
}
