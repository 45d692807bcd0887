import { clickHouseTarget, isClickHouseUrl, openClickHouse } from '../store/store-url.js';
import type { WindowHistory } from '../store/window-store.js';
import { JournalHistory } from './journal-history.js';

/** `graph --from`: a ClickHouse URL, or an NDJSON file of windows (the embedded history). */
export async function openHistory(
  from: string,
  passwordFile: string | undefined,
  warn: (text: string) => void,
): Promise<WindowHistory> {
  if (isClickHouseUrl(from)) return openClickHouse(clickHouseTarget(from, passwordFile, '--from'));
  return new JournalHistory(from, warn);
}
