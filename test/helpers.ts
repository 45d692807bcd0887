import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Repository root (tests run from dist/test/..., fixtures stay in the source tree). */
export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
/** The bundled CLI, as `npx sky-plan` runs it. */
export const CLI = join(ROOT, 'dist/sky-plan.mjs');
export const fixture = (...parts: string[]) => join(ROOT, 'fixtures', ...parts);

export function tempDir(base = tmpdir()): string {
  return mkdtempSync(join(base, 'sky-plan-test-'));
}

export interface CliResult {
  status: number;
  stdout: string;
  stderr: string;
}

export function runCli(args: string[], input?: Buffer): CliResult {
  const r = spawnSync(process.execPath, [CLI, ...args], {
    cwd: ROOT,
    input,
    maxBuffer: 256 << 20,
    encoding: 'buffer',
  });
  return { status: r.status ?? -1, stdout: r.stdout.toString(), stderr: r.stderr.toString() };
}

/** A graph@1 file where each of `vms` sends `peer` 6 GB in a minute: reason enough for plan to move them to it. */
export function talkGraph(path: string, vms: string[], peer: string): string {
  writeFileSync(
    path,
    JSON.stringify({
      schema: 'sky-plan/graph@1',
      timeRange: { seconds: 60 },
      nodes: [...vms, peer].map((id) => ({ id })),
      edges: vms.map((source) => ({ source, target: peer, bytes: 6e9, packets: 5e6 })),
    }),
  );
  return path;
}

/** `sky-plan execute --driver script` of a plan into `out`. */
export function writeScript(plan: string, clouds: string, out: string): CliResult {
  return runCli(['execute', '--plan', plan, '--clouds', clouds, '--driver', 'script', '--script', out]);
}

/** Bytes from a hex dump; whitespace and `|` separators are ignored. */
export function hex(text: string): Buffer {
  return Buffer.from(text.replace(/[\s|]/g, ''), 'hex');
}

/** A classic pcap file from frames, in either byte order and timestamp precision. */
export function pcapFile(
  frames: { data: Buffer; ts?: number; origLen?: number }[],
  opts: { bigEndian?: boolean; nano?: boolean; linkType?: number; snaplen?: number } = {},
): Buffer {
  const le = !opts.bigEndian;
  const u32 = (b: Buffer, v: number, o: number) =>
    le ? b.writeUInt32LE(v >>> 0, o) : b.writeUInt32BE(v >>> 0, o);
  const u16 = (b: Buffer, v: number, o: number) => (le ? b.writeUInt16LE(v, o) : b.writeUInt16BE(v, o));
  const header = Buffer.alloc(24);
  u32(header, opts.nano ? 0xa1b23c4d : 0xa1b2c3d4, 0);
  u16(header, 2, 4);
  u16(header, 4, 6);
  u32(header, opts.snaplen ?? 262144, 16);
  u32(header, opts.linkType ?? 1, 20);
  const parts: Buffer[] = [header];
  for (const f of frames) {
    const rec = Buffer.alloc(16);
    const ts = f.ts ?? 1700000000.5;
    const sec = Math.floor(ts);
    u32(rec, sec, 0);
    u32(rec, Math.round((ts - sec) * (opts.nano ? 1e9 : 1e6)), 4);
    u32(rec, f.data.length, 8);
    u32(rec, f.origLen ?? f.data.length, 12);
    parts.push(rec, f.data);
  }
  return Buffer.concat(parts);
}

export function writeTemp(name: string, data: Buffer | string): string {
  const path = join(tempDir(), name);
  writeFileSync(path, data);
  return path;
}

/** Builds frames field by field, for decoder tests that read like the header diagrams. */
export const frame = {
  eth(dst: string, src: string, type: number): Buffer {
    const b = Buffer.alloc(14);
    b.write(dst.replace(/:/g, ''), 0, 'hex');
    b.write(src.replace(/:/g, ''), 6, 'hex');
    b.writeUInt16BE(type, 12);
    return b;
  },
  vlan(vid: number, type: number): Buffer {
    const b = Buffer.alloc(4);
    b.writeUInt16BE(vid, 0);
    b.writeUInt16BE(type, 2);
    return b;
  },
  ipv4(
    src: string,
    dst: string,
    proto: number,
    payloadLength: number,
    opts: { options?: Buffer; flags?: number; id?: number; totalLength?: number } = {},
  ): Buffer {
    const optLen = opts.options?.length ?? 0;
    const b = Buffer.alloc(20 + optLen);
    b[0] = 0x40 | ((20 + optLen) / 4);
    b.writeUInt16BE(opts.totalLength ?? 20 + optLen + payloadLength, 2);
    b.writeUInt16BE(opts.id ?? 1, 4);
    b.writeUInt16BE(opts.flags ?? 0, 6);
    b[8] = 64;
    b[9] = proto;
    src.split('.').forEach((x, i) => {
      b[12 + i] = Number(x);
    });
    dst.split('.').forEach((x, i) => {
      b[16 + i] = Number(x);
    });
    opts.options?.copy(b, 20);
    return b;
  },
  ipv6(src: string, dst: string, next: number, payloadLength: number): Buffer {
    const b = Buffer.alloc(40);
    b[0] = 0x60;
    b.writeUInt16BE(payloadLength, 4);
    b[6] = next;
    b[7] = 64;
    const put = (addr: string, o: number) => {
      const [h = '', t = ''] = addr.split('::');
      const hs = h === '' ? [] : h.split(':');
      const ts = t === '' ? [] : t.split(':');
      const groups = [...hs, ...Array(8 - hs.length - ts.length).fill('0'), ...ts];
      groups.forEach((g, i) => {
        b.writeUInt16BE(Number.parseInt(g, 16), o + i * 2);
      });
    };
    put(src, 8);
    put(dst, 24);
    return b;
  },
  tcp(sport: number, dport: number, flags: number): Buffer {
    const b = Buffer.alloc(20);
    b.writeUInt16BE(sport, 0);
    b.writeUInt16BE(dport, 2);
    b[12] = 0x50;
    b[13] = flags;
    return b;
  },
  udp(sport: number, dport: number, payloadLength: number): Buffer {
    const b = Buffer.alloc(8);
    b.writeUInt16BE(sport, 0);
    b.writeUInt16BE(dport, 2);
    b.writeUInt16BE(8 + payloadLength, 4);
    return b;
  },
  vxlan(vni: number): Buffer {
    const b = Buffer.alloc(8);
    b[0] = 0x08;
    b.writeUIntBE(vni, 4, 3);
    return b;
  },
};

/** An Ethernet + IPv4 + TCP frame with `payload` zero bytes. */
export function tcpFrame(
  src: string,
  dst: string,
  sport: number,
  dport: number,
  payload = 0,
  flags = 0x10,
): Buffer {
  return Buffer.concat([
    frame.eth('02:00:00:00:00:02', '02:00:00:00:00:01', 0x0800),
    frame.ipv4(src, dst, 6, 20 + payload),
    frame.tcp(sport, dport, flags),
    Buffer.alloc(payload),
  ]);
}

/** An ARP or RARP body (RFC 826/903): htype 1, ptype IPv4, op, sender and target. */
export function arpFrame(
  etherType: number,
  op: number,
  mac: string,
  senderIp: string,
  targetIp: string,
): Buffer {
  const body = Buffer.alloc(28);
  body.writeUInt16BE(1, 0);
  body.writeUInt16BE(0x0800, 2);
  body[4] = 6;
  body[5] = 4;
  body.writeUInt16BE(op, 6);
  body.write(mac.replace(/:/g, ''), 8, 'hex');
  senderIp.split('.').forEach((x, i) => {
    body[14 + i] = Number(x);
  });
  body.write(mac.replace(/:/g, ''), 18, 'hex');
  targetIp.split('.').forEach((x, i) => {
    body[24 + i] = Number(x);
  });
  return Buffer.concat([frame.eth('ff:ff:ff:ff:ff:ff', mac, etherType), body]);
}

/** `sky-plan tunnel dest` on a loopback port, once it has said it listens; kill it when done. */
export async function startTunnelDest(
  store: string,
  pskFile: string,
  allowForward: string[] = [],
): Promise<{ port: number; process: ChildProcess }> {
  const port = 20000 + Math.floor(Math.random() * 10000);
  const child = spawn(
    process.execPath,
    [
      CLI,
      'tunnel',
      'dest',
      '--listen',
      `127.0.0.1:${port}`,
      '--store',
      store,
      '--psk-file',
      pskFile,
      ...(allowForward.length === 0 ? [] : ['--allow-forward', allowForward.join(',')]),
    ],
    { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] },
  );
  await new Promise<void>((resolve) => child.stdout.once('data', () => resolve()));
  // Its log is read no further, but must not fill the pipe and block it.
  child.stdout.resume();
  return { port, process: child };
}

/**
 * `sky-plan execute --driver qmp --json ARGS`, handing each JSON event to `onEvent` as it arrives (with
 * the child, to kill it midway); resolves with its exit code, null when it was killed.
 */
export function executeQmp(
  args: string[],
  onEvent: (e: Record<string, unknown>, child: ChildProcess) => void = () => undefined,
): Promise<number | null> {
  const child = spawn(process.execPath, [CLI, 'execute', '--driver', 'qmp', '--json', ...args], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let buffer = '';
  child.stdout.on('data', (chunk: Buffer) => {
    buffer += chunk.toString();
    for (let nl = buffer.indexOf('\n'); nl >= 0; nl = buffer.indexOf('\n')) {
      onEvent(JSON.parse(buffer.slice(0, nl)) as Record<string, unknown>, child);
      buffer = buffer.slice(nl + 1);
    }
  });
  return new Promise((resolve) => child.on('exit', (code) => resolve(code)));
}
