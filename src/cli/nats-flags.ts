import type { Command } from 'commander';
import type { StreamOptions } from '../collect/nats-sink.js';
import { type NatsTarget, parseNatsUrl } from '../collect/nats-target.js';
import { parseDuration } from './duration.js';
import { integer } from './integer.js';

export interface NatsFlags {
  natsCreds?: string;
  natsCa?: string;
  natsReplicas: string;
  natsMaxAge: string;
}

/** The options of a command that talks to NATS JetStream (capture --to, collect --from). */
export function natsOptions(command: Command): Command {
  return command
    .option('--nats-creds <file>', 'NATS credentials: a .creds file, or user:password on its first line')
    .option('--nats-ca <file>', "connect to NATS over TLS, trusting this CA's certificates")
    .option('--nats-replicas <n>', 'replicas of the window stream, when it has to be created', '3')
    .option('--nats-max-age <duration>', 'how long the stream keeps a window, consumed or not', '7d');
}

export function natsTarget(url: string, flags: NatsFlags, option: string): NatsTarget {
  return { ...parseNatsUrl(url, option), credentialsFile: flags.natsCreds, caFile: flags.natsCa };
}

export function streamOptions(flags: NatsFlags): StreamOptions {
  return {
    // JetStream's limit: a stream has at most 5 replicas.
    replicas: integer(flags.natsReplicas, '--nats-replicas', 1, 5),
    maxAgeSeconds: parseDuration(flags.natsMaxAge, '--nats-max-age'),
  };
}
