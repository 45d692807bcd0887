import {
  AckPolicy,
  type Consumer,
  DeliverPolicy,
  type JsMsg,
  jetstream,
  jetstreamManager,
} from '@nats-io/jetstream';
import { type NatsConnection, nanos } from '@nats-io/transport-node';
import type { WindowDocument } from '../../capture/window-document.js';
import { ensureStream, type StreamOptions } from './nats-sink.js';
import { connectNats, type NatsTarget } from './nats-target.js';
import { readWindow } from './read-window.js';

export interface ConsumeOptions {
  target: NatsTarget;
  stream: StreamOptions;
  /**
   * The durable consumer. Aggregators naming the same one share the windows between them (a work queue:
   * each window goes to one of them); one with a name of its own gets every window.
   */
  consumer: string;
  /** Windows taken per fetch and handed over together (one insert into a store). */
  batch: number;
  /** Takes a batch; the windows are acknowledged once it resolves, and handed over again if it throws. */
  handle: (docs: WindowDocument[]) => Promise<void>;
  /** Consuming ends when this settles; unacknowledged windows go back to the stream. */
  stop: Promise<void>;
  warn: (text: string) => void;
}

/**
 * A window unacknowledged this long goes to another aggregator. Short, so that a crashed aggregator's
 * windows come back soon; a slow or failing insert keeps its batch by telling the stream it still works.
 */
const ACK_WAIT_MS = 15_000;

/**
 * Consumes windows from the stream until `stop`: each batch is validated (a bad window is named and
 * dropped for good), handed to `handle`, and acknowledged after it. A failing `handle` (a store that is
 * down) is retried with the same batch, which stays claimed meanwhile, so windows wait in the stream.
 */
export async function consumeWindows(options: ConsumeOptions): Promise<{ windows: number; refused: number }> {
  const { target, warn } = options;
  let stopped = false;
  void options.stop.then(() => {
    stopped = true;
  });
  const nc = await connectNats(target, `sky-plan collect (${options.consumer})`, true);
  const counts = { windows: 0, refused: 0 };
  try {
    const consumer = await openConsumer(nc, options, () => stopped);
    if (consumer === undefined) return counts;
    warn(`consuming stream ${target.stream} as durable consumer ${options.consumer}`);
    let backoffMs = 250;
    while (!stopped) {
      let messages: JsMsg[] = [];
      try {
        const batch = await consumer.fetch({ max_messages: options.batch, expires: 1000 });
        for await (const m of batch) messages.push(m);
      } catch (err) {
        // A server of the cluster went away mid-fetch: what it handed out comes again after ACK_WAIT_MS.
        warn(`NATS fetch failed (${(err as Error).message}); retrying`);
        await delay(backoffMs);
        backoffMs = Math.min(backoffMs * 2, 5000);
        continue;
      }
      backoffMs = 250;
      const docs: WindowDocument[] = [];
      messages = messages.filter((m) => {
        try {
          docs.push(readWindow(m.json()));
          return true;
        } catch (err) {
          warn(`stream message ${m.seq} (${m.subject}) is not a window: ${(err as Error).message}; dropped`);
          m.term();
          counts.refused++;
          return false;
        }
      });
      if (docs.length === 0) continue;
      if (!(await handOver(options, docs, messages, () => stopped))) {
        for (const m of messages) m.nak();
        break;
      }
      for (const m of messages) m.ack();
      counts.windows += docs.length;
    }
    await nc.flush();
  } finally {
    await nc.drain().catch(() => undefined);
  }
  return counts;
}

/**
 * The durable consumer, created with the stream if absent. A cluster that is starting or electing a
 * leader answers its API with timeouts for a while: those are waited out (until stop), not fatal.
 */
async function openConsumer(
  nc: NatsConnection,
  options: ConsumeOptions,
  stopped: () => boolean,
): Promise<Consumer | undefined> {
  const { stream } = options.target;
  let backoffMs = 500;
  for (;;) {
    try {
      const jsm = await jetstreamManager(nc);
      await ensureStream(jsm, stream, options.stream);
      await jsm.consumers.info(stream, options.consumer).catch(async (err: Error) => {
        if (!/not found/i.test(err.message)) throw err;
        await jsm.consumers.add(stream, {
          durable_name: options.consumer,
          ack_policy: AckPolicy.Explicit,
          deliver_policy: DeliverPolicy.All,
          ack_wait: nanos(ACK_WAIT_MS),
          max_ack_pending: 20 * options.batch,
        });
      });
      return await jetstream(nc).consumers.get(stream, options.consumer);
    } catch (err) {
      const e = err as Error;
      if (!(e.name === 'TimeoutError' || /timeout|no responders|temporarily unavailable/i.test(e.message)))
        throw err;
      options.warn(`JetStream not ready (${e.message}); retrying`);
    }
    if (stopped()) return undefined;
    await delay(backoffMs);
    backoffMs = Math.min(backoffMs * 2, 10_000);
  }
}

/** Hands a batch over until it is taken (true) or consuming stops first (false). */
async function handOver(
  options: ConsumeOptions,
  docs: WindowDocument[],
  messages: JsMsg[],
  stopped: () => boolean,
): Promise<boolean> {
  // Still ours: tell the stream before ACK_WAIT_MS runs out, so no other aggregator takes them meanwhile.
  const heartbeat = setInterval(() => {
    for (const m of messages) m.working();
  }, ACK_WAIT_MS / 3);
  try {
    let backoffMs = 500;
    for (;;) {
      try {
        await options.handle(docs);
        return true;
      } catch (err) {
        options.warn(`${docs.length} windows not taken (${(err as Error).message}); they wait in the stream`);
      }
      if (stopped()) return false;
      await delay(backoffMs);
      backoffMs = Math.min(backoffMs * 2, 10_000);
    }
  } finally {
    clearInterval(heartbeat);
  }
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
