import { type JetStreamManager, jetstream, jetstreamManager } from '@nats-io/jetstream';
import { type NatsConnection, nanos } from '@nats-io/transport-node';
import { connectNats, type NatsTarget, streamSubjects, windowSubject } from './nats-target.js';
import type { Deliverer, Delivery } from './spool-sink.js';

/** How the stream is created when it does not exist yet (an existing stream is used as it is). */
export interface StreamOptions {
  replicas: number;
  /** Windows older than this leave the stream, consumed or not. */
  maxAgeSeconds: number;
}

/**
 * Windows to a JetStream stream. A publish counts once the stream acknowledged it (stored on a quorum of
 * its replicas); the window id is the message id, so a resend within the stream's duplicate window is
 * dropped by JetStream itself, and aggregators drop any later one by id.
 */
export function natsDeliverer(target: NatsTarget, stream: StreamOptions, client: string): Deliverer {
  let ready: Promise<NatsConnection> | undefined;
  const connection = () => {
    ready ??= (async () => {
      const nc = await connectNats(target, client, false);
      try {
        await ensureStream(await jetstreamManager(nc), target.stream, stream);
      } catch (err) {
        // The next delivery connects afresh: this connection would otherwise reconnect for ever.
        await nc.close();
        throw err;
      }
      return nc;
    })().catch((err: unknown) => {
      ready = undefined;
      throw err;
    });
    return ready;
  };
  return {
    name: `NATS stream ${target.stream} (${target.servers.join(',')})`,
    async deliver(_file, body, doc): Promise<Delivery> {
      const nc = await connection();
      const limit = nc.info?.max_payload;
      if (limit !== undefined && body.length > limit)
        return {
          refused: `${body.length} bytes, above the servers' max_payload of ${limit}; raise max_payload in nats-server.conf (up to 64 MB) or shorten --window`,
        };
      const ack = await jetstream(nc).publish(windowSubject(target.stream, doc.collector), body, {
        msgID: doc.id,
        timeout: 10_000,
      });
      return ack.stream === target.stream
        ? { taken: true }
        : { retry: `acknowledged by stream ${ack.stream}` };
    },
    async close() {
      const nc = await ready?.catch(() => undefined);
      await nc?.drain();
    },
  };
}

/** Creates the stream if absent; an existing one (made by hand, another collector) is left as it is. */
export async function ensureStream(
  jsm: JetStreamManager,
  name: string,
  options: StreamOptions,
): Promise<void> {
  try {
    await jsm.streams.info(name);
    return;
  } catch (err) {
    if (!/not found/i.test((err as Error).message)) throw err;
  }
  await jsm.streams
    .add({
      name,
      subjects: [streamSubjects(name)],
      num_replicas: options.replicas,
      max_age: nanos(options.maxAgeSeconds * 1000),
      // Resends after a lost acknowledgement arrive within seconds; a collector spooling through a long
      // outage resends later, and the aggregators' window ids catch those.
      duplicate_window: nanos(10 * 60 * 1000),
    })
    .catch((err: Error) => {
      // Another collector created it meanwhile.
      if (!/already in use/i.test(err.message)) throw err;
    });
}
