import { readFileSync } from 'node:fs';
import {
  type Authenticator,
  connect,
  credsAuthenticator,
  type NatsConnection,
  usernamePasswordAuthenticator,
} from '@nats-io/transport-node';
import { UserError } from '../errors.js';

/** Where windows travel in the scale-out path: a JetStream stream on a NATS cluster. */
export interface NatsTarget {
  /** host:port of every seed server (a client reconnects to whichever is up). */
  servers: string[];
  stream: string;
  /** A NATS .creds file (JWT and NKey seed) or a file whose first line is user:password. */
  credentialsFile?: string | undefined;
  /** The CA that signed the servers' certificates: connect over TLS. */
  caFile?: string | undefined;
}

export const DEFAULT_STREAM = 'SKYPLAN_WINDOWS';

/** `nats://h1:4222,h2:4222[/STREAM]` → servers and stream; credentials never come from the URL. */
export function parseNatsUrl(url: string, option: string): Pick<NatsTarget, 'servers' | 'stream'> {
  const m = /^nats:\/\/([^/]+)(?:\/([A-Za-z0-9_-]+))?\/?$/.exec(url.trim());
  const hosts = m?.[1]?.split(',') ?? [];
  if (m === null || hosts.length === 0 || hosts.some((h) => !/^[A-Za-z0-9.:[\]-]+:\d{1,5}$/.test(h))) {
    const hint = url.includes('@') ? ' (give credentials with --nats-creds, never in the URL)' : '';
    throw new UserError(
      'bad_url',
      `${option}: "${url}" is not nats://host:port[,host:port...][/stream]${hint}`,
    );
  }
  return { servers: hosts, stream: m[2] ?? DEFAULT_STREAM };
}

/** The subject a collector's windows go to: one per collector, so each keeps its order in the stream. */
export function windowSubject(stream: string, collector: string): string {
  return `${stream}.w.${collector.replace(/[^A-Za-z0-9_-]/g, '_')}`;
}

export function streamSubjects(stream: string): string {
  return `${stream}.w.>`;
}

function authenticator(file: string): Authenticator {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new UserError('secret_unreadable', `cannot read --nats-creds ${file}: ${(err as Error).message}`);
  }
  if (text.includes('BEGIN NATS USER JWT')) return credsAuthenticator(new TextEncoder().encode(text));
  const line = (text.split('\n')[0] ?? '').trim();
  const colon = line.indexOf(':');
  if (colon <= 0)
    throw new UserError(
      'secret_unreadable',
      `--nats-creds ${file}: neither a NATS .creds file nor user:password on its first line`,
    );
  return usernamePasswordAuthenticator(line.slice(0, colon), line.slice(colon + 1));
}

/**
 * Connects, and once connected keeps reconnecting for ever: a collector or aggregator outlives any one
 * server. `waitForCluster` also waits for the first connection (an aggregator started before the cluster);
 * without it an unreachable cluster fails within seconds (a collector spools meanwhile).
 */
export async function connectNats(
  target: NatsTarget,
  name: string,
  waitForCluster: boolean,
): Promise<NatsConnection> {
  return connect({
    servers: target.servers,
    name,
    maxReconnectAttempts: -1,
    reconnectTimeWait: 500,
    timeout: 5000,
    waitOnFirstConnect: waitForCluster,
    ...(target.credentialsFile === undefined ? {} : { authenticator: authenticator(target.credentialsFile) }),
    ...(target.caFile === undefined ? {} : { tls: { caFile: target.caFile } }),
  });
}
