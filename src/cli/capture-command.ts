import { mkdirSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Command } from 'commander';
import { parseMac } from '../../capture/addresses.js';
import { FLOW_TABLE_DEFAULTS } from '../../capture/flow-table.js';
import { captureDevices } from '../../capture/live/device-list.js';
import { libvirtTaps } from '../../capture/live/libvirt-taps.js';
import type { LocalVm, WindowDocument } from '../../capture/window-document.js';
import { httpDeliverer } from '../collect/http-sink.js';
import { natsDeliverer } from '../collect/nats-sink.js';
import { NdjsonSink } from '../collect/ndjson-sink.js';
import { runCapture } from '../collect/run-capture.js';
import { SpoolSink } from '../collect/spool-sink.js';
import { EXIT, UserError } from '../errors.js';
import { textTable } from '../text-format.js';
import { parseDuration } from './duration.js';
import { integer } from './integer.js';
import { type NatsFlags, natsOptions, natsTarget, streamOptions } from './nats-flags.js';
import { parseSize } from './size.js';
import { readToken } from './token.js';

interface CaptureFlags extends NatsFlags {
  list?: boolean;
  interface: string[];
  tap: string[];
  libvirt?: string | boolean;
  libvirtEvery: string;
  filter: string;
  snaplen: string;
  buffer: string;
  immediate?: boolean;
  timeout: string;
  window: string;
  host: string;
  collector?: string;
  out?: string;
  to?: string;
  spool?: string;
  tokenFile?: string;
  pcapDir?: string;
  rotate: string;
  pcapKeep: string;
  duration?: string;
  maxFlows: string;
  bytes: string;
}

export function registerCapture(program: Command): void {
  const command = program
    .command('capture')
    .summary('capture live on VM interfaces and emit one flow window at a time')
    .description(
      "Captures with libpcap (the pcap module) on this hypervisor's interfaces, decodes and aggregates " +
        'exactly as analyze does, and emits each time window as it closes: NDJSON (stdout or --out DIR) ' +
        'and/or to an aggregator (--to, sky-plan collect). Memory stays that of one flow table however long ' +
        'it runs. SIGINT/SIGTERM emit the open window, then stop. Needs root or CAP_NET_RAW+CAP_NET_ADMIN.',
    )
    .option('--list', 'list the interfaces libpcap can capture on, with their addresses, and exit')
    .option('-i, --interface <names>', 'interfaces to capture, comma-separated (repeatable)', commaList, [])
    .option(
      '--tap <name=mac>',
      "a VM's tap and the VM's MAC (repeatable): captured, counting only what that VM sent, so a frame between two local VMs counts once",
      commaList,
      [],
    )
    .option('--libvirt [uri]', "capture every running VM's tap, named by libvirt (virsh domiflist)")
    .option('--libvirt-every <duration>', 'read the VMs and their taps again this often', '60s')
    .option('-f, --filter <bpf>', 'BPF filter', '')
    .option('--snaplen <bytes>', 'bytes kept per frame (headers; byte counts use the wire length)', '256')
    .option('--buffer <size>', 'kernel capture buffer per interface (e.g. 64M)', '64M')
    .option('--immediate', 'deliver each frame at once instead of in batches (lower latency, more CPU)')
    .option('--timeout <duration>', 'longest a batch waits without --immediate', '100ms')
    .option('-w, --window <duration>', 'window length', '60s')
    .option('--host <name>', 'this hypervisor, as the inventory names it', hostname())
    .option('--collector <name>', 'this collector in window ids (default: --host)')
    .option('-o, --out <dir>', 'append windows as NDJSON to <dir>/<collector>-<UTC day>.ndjson')
    .option(
      '--to <url>',
      'send windows to a sky-plan collect aggregator (http://agg:7411) or a JetStream stream (nats://h:4222[,h:4222][/STREAM])',
    )
    .option(
      '--spool <dir>',
      'windows not yet delivered to --to (default: $TMPDIR/sky-plan-spool-<collector>)',
    )
    .option('--token-file <file>', "the aggregator's bearer token (collect --token-file)")
    .option('--pcap-dir <dir>', 'also keep the raw frames: <dir>/<interface>-<UTC time>.pcap, rolled over')
    .option('--rotate <duration>', 'start a new pcap file this often (aligned to UTC)', '1h')
    .option('--pcap-keep <n>', 'pcap files kept per interface (older ones are deleted)', '24')
    .option('--duration <duration>', 'stop after this long (default: until SIGINT/SIGTERM)')
    .option('--max-flows <n>', 'flow records held at once', String(FLOW_TABLE_DEFAULTS.maxFlows))
    .option('--bytes <what>', 'wire|payload', 'wire');
  natsOptions(command).action(captureAction);
}

/** `-i a,b -i c` → ['a', 'b', 'c']. */
function commaList(value: string, previous: string[]): string[] {
  return [...previous, ...value.split(',').filter((v) => v !== '')];
}

async function captureAction(flags: CaptureFlags): Promise<void> {
  if (flags.list) {
    const rows = captureDevices().map((d) => [d.name, d.addresses.join(' '), d.description ?? '']);
    process.stdout.write(`${textTable(['interface', 'addresses', 'description'], rows)}\n`);
    return;
  }
  // Every flag is checked before anything starts, so a typo never leaves a half-started collector.
  const windowSeconds = parseDuration(flags.window, '--window');
  const snaplen = integer(flags.snaplen, '--snaplen', 64, 262144);
  const maxFlows = integer(flags.maxFlows, '--max-flows', 16, 1 << 26);
  if (flags.bytes !== 'wire' && flags.bytes !== 'payload') {
    throw new UserError('bad_bytes', `--bytes: "${flags.bytes}" is not wire or payload`);
  }
  const open = {
    filter: flags.filter,
    snaplen,
    bufferBytes: parseSize(flags.buffer, '--buffer'),
    immediate: flags.immediate === true,
    timeoutMs: parseDuration(flags.timeout, '--timeout') * 1000,
  };
  const duration = flags.duration === undefined ? undefined : parseDuration(flags.duration, '--duration');
  const libvirtEvery = parseDuration(flags.libvirtEvery, '--libvirt-every');
  const pcap =
    flags.pcapDir === undefined
      ? undefined
      : {
          dir: flags.pcapDir,
          rotateSeconds: parseDuration(flags.rotate, '--rotate'),
          keep: integer(flags.pcapKeep, '--pcap-keep', 1, 1_000_000),
        };
  const token = flags.tokenFile === undefined ? undefined : readToken(flags.tokenFile);
  const taps = new Map(flags.tap.map(tapOf));
  const interfaces = [...new Set([...flags.interface, ...taps.keys()])];
  if (interfaces.length === 0 && flags.libvirt === undefined) {
    throw new UserError('no_interfaces', 'say what to capture: -i vnet0,vnet1, --tap vnet0=MAC or --libvirt');
  }
  const uri = typeof flags.libvirt === 'string' ? flags.libvirt : undefined;
  const readVms = flags.libvirt === undefined ? undefined : () => libvirtTaps(uri);
  const vms: LocalVm[] = readVms === undefined ? [] : await readVms();
  if (pcap !== undefined) mkdirSync(pcap.dir, { recursive: true });

  const warn = (text: string) => process.stderr.write(`sky-plan: warning: ${text}\n`);
  const collector = flags.collector ?? flags.host;
  const ndjson = flags.out !== undefined || flags.to === undefined ? new NdjsonSink(flags.out) : undefined;
  const spool =
    flags.to === undefined
      ? undefined
      : new SpoolSink(
          flags.to.startsWith('nats://')
            ? natsDeliverer(
                natsTarget(flags.to, flags, '--to'),
                streamOptions(flags),
                `sky-plan capture (${collector})`,
              )
            : httpDeliverer(flags.to.replace(/\/+$/, ''), token),
          flags.spool ?? join(tmpdir(), `sky-plan-spool-${collector}`),
          warn,
        );
  let timer: NodeJS.Timeout | undefined;
  const stop = new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
    if (duration !== undefined) timer = setTimeout(resolve, duration * 1000);
  });
  let summary: Awaited<ReturnType<typeof runCapture>>;
  try {
    summary = await runCapture(
      {
        interfaces,
        taps,
        open,
        collector,
        host: flags.host,
        windowSeconds,
        flowTable: { ...FLOW_TABLE_DEFAULTS, maxFlows, count: flags.bytes },
        vms,
        refreshVms: readVms === undefined ? undefined : { seconds: libvirtEvery, read: readVms },
        pcap,
        emit: (doc: WindowDocument) => {
          ndjson?.write(doc);
          spool?.write(doc);
        },
        warn,
        started: (names) =>
          process.stderr.write(
            `sky-plan: capturing on ${names.length === 0 ? 'no interface yet (no VM)' : names.join(', ')}, windows of ${windowSeconds} s\n`,
          ),
      },
      stop,
    );
  } catch (err) {
    clearTimeout(timer);
    await spool?.close();
    throw err;
  }
  if (spool !== undefined) {
    await spool.drain(10_000);
    if (spool.pending > 0)
      warn(`${spool.pending} windows not delivered yet: they stay spooled for the next run`);
    await spool.close();
  }
  process.stderr.write(
    `sky-plan: captured ${summary.frames} frames (${summary.bytes} bytes) in ${summary.windows} windows on ${summary.interfaces.join(', ')}; kernel drops ${summary.kernelDrops}, interface drops ${summary.interfaceDrops}\n`,
  );
  // node_pcap keeps its poll handle until the interface's next packet: do not wait for one.
  process.stdout.write('', () => process.exit(EXIT.ok));
}

/** `--tap NAME=MAC`: the interface and the MAC of the VM behind it. */
function tapOf(text: string): [string, number] {
  const eq = text.lastIndexOf('=');
  const mac = eq > 0 ? parseMac(text.slice(eq + 1)) : undefined;
  if (mac === undefined)
    throw new UserError('bad_tap', `--tap: "${text}" is not NAME=MAC (e.g. vnet0=52:54:00:12:34:56)`);
  return [text.slice(0, eq), mac];
}
