import { UserError } from '../errors.js';
import { readTextSync } from '../read-text.js';
import { ClickHouseStore, type ClickHouseTarget } from './clickhouse-store.js';

export function isClickHouseUrl(text: string): boolean {
  return text.startsWith('clickhouse://');
}

/**
 * `clickhouse://[user@]host:port[/database]` (HTTP interface) and the password from a file: a password in
 * the URL would show in `ps` and shell history, so it is refused.
 */
export function clickHouseTarget(
  url: string,
  passwordFile: string | undefined,
  option: string,
): ClickHouseTarget {
  const m =
    /^clickhouse:\/\/(?:([^@:/]+)(:[^@]*)?@)?([A-Za-z0-9.-]+|\[[0-9a-fA-F:]+\]):(\d{1,5})(?:\/([A-Za-z0-9_]+))?\/?$/.exec(
      url.trim(),
    );
  if (m === null || m[2] !== undefined)
    throw new UserError(
      'bad_url',
      m?.[2] !== undefined
        ? `${option}: the URL holds a password; put it in a file and give --clickhouse-password-file`
        : `${option}: "${url}" is not clickhouse://[user@]host:port[/database] (the HTTP port, 8123 by default)`,
    );
  const password =
    passwordFile === undefined
      ? ''
      : (readTextSync(passwordFile, 'secret_unreadable', 'the --clickhouse-password-file').split('\n')[0] ??
        '');
  return {
    url: `http://${m[3]}:${m[4]}`,
    user: m[1] ?? 'default',
    password,
    database: m[5] ?? 'skyplan',
  };
}

/** Opens a store, or says why not in a sentence (a server that is down is not a stack trace). */
export async function openClickHouse(target: ClickHouseTarget): Promise<ClickHouseStore> {
  try {
    return await ClickHouseStore.open(target);
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    const reason = e.code === 'ECONNREFUSED' ? 'connection refused' : e.message.split('\n')[0];
    throw new UserError('store_unavailable', `cannot use ClickHouse at ${target.url}: ${reason}`);
  }
}
