import { seededRng } from '../../planner/rng.js';
import { type Scenario, type ScenarioVm, VNI } from './cluster-scenario.js';
import { frameLength, type Nic, TCP_FLAGS, writeFrame } from './frame-builder.js';
import type { PcapWriter } from './pcap-writer.js';

/** A party to a conversation: a VM, or an internet peer reached through the VM's cloud gateway. */
type Party = { vm: ScenarioVm } | { external: Nic };

interface Message {
  t: number;
  src: Party;
  dst: Party;
  proto: 'tcp' | 'udp';
  /** Server port; the client side gets a stable ephemeral port per connection. */
  port: number;
  /** Which side opened the connection (the server is the other). */
  clientIsSrc: boolean;
  bytes: number;
}

export interface TrafficOptions {
  seed: number;
  /** TCP maximum segment size: 1448 for Ethernet; smaller gives more packets per byte. */
  mss: number;
}

/**
 * Where frames are written: `single` is one capture with every packet once, as taken at the sender's
 * hypervisor; per-host captures see cross-host packets twice, on the sender's and the receiver's uplink.
 */
export type CaptureLayout = { single: PcapWriter } | { perHost: Map<string, PcapWriter> };

const ACK_EVERY = 2;
const LINK_BPS = 10e9;

export function generateTraffic(s: Scenario, layout: CaptureLayout, options: TrafficOptions): void {
  const rng = seededRng(options.seed);
  const messages = plan(s, rng);
  messages.sort((a, b) => a.t - b.t);
  const emitter = new Emitter(s, layout, options.mss);
  for (const vm of s.vms) emitter.arpGateway(vm, rng() * 0.01);
  for (const m of messages) emitter.message(m);
  emitter.closeAll();
}

function plan(s: Scenario, rng: () => number): Message[] {
  const { size } = s;
  const v = size.volume;
  const out: Message[] = [];
  const vm = (name: string): Party => ({ vm: s.vms.find((x) => x.name === name) as ScenarioVm });
  const tcp = (t: number, src: Party, dst: Party, port: number, clientIsSrc: boolean, bytes: number) =>
    out.push({ t, src, dst, proto: 'tcp', port, clientIsSrc, bytes: Math.round(bytes * v) });

  // MapReduce: shuffle burst (every mapper to every reducer), then reducers write results out.
  for (let m = 0; m < size.mappers; m++) {
    for (let r = 0; r < size.reducers; r++) {
      for (let k = 0; k < 4; k++) {
        // Reducers fetch map output (Hadoop shuffle port 13562): the reducer is the client.
        tcp(20 + rng() * 10, vm(`mr-map${m}`), vm(`mr-red${r}`), 13562, false, 32768);
      }
    }
  }
  for (let r = 0; r < size.reducers; r++) {
    for (let k = 0; k < 2; k++)
      tcp(40 + rng() * 5, vm(`mr-red${r}`), { external: s.objectStore }, 443, true, 65536);
  }
  // Stencil: every 2 s each rank sends a halo to each grid neighbour.
  for (let t = 1; t < size.duration; t += 2) {
    for (let y = 0; y < size.gridHeight; y++) {
      for (let x = 0; x < size.gridWidth; x++) {
        const here = vm(`cfd-${x}-${y}`);
        for (const [dx, dy] of [
          [1, 0],
          [-1, 0],
          [0, 1],
          [0, -1],
        ] as const) {
          const nx = x + dx;
          const ny = y + dy;
          if (nx < 0 || ny < 0 || nx >= size.gridWidth || ny >= size.gridHeight) continue;
          // The lower-ranked side opened the connection at start-up.
          const client = nx + ny * size.gridWidth > x + y * size.gridWidth;
          tcp(t + rng() * 0.05, here, vm(`cfd-${nx}-${ny}`), 5001, !client, 8192);
        }
      }
    }
  }
  // Render farm: tasks out, results back, round-robin.
  for (let i = 0; i < size.workers * 10; i++) {
    const w = vm(`rw-worker${i % size.workers}`);
    const t = 2 + (i * (size.duration - 6)) / (size.workers * 10);
    tcp(t, vm('rw-master'), w, 7000, false, 2048);
    tcp(t + 0.5 + rng(), w, vm('rw-master'), 7000, true, 65536);
  }
  // Web frontend: internet clients.
  for (let i = 0; i < 200; i++) {
    const client = { external: s.clients[i % s.clients.length] as Nic };
    const t = (i * size.duration) / 200 + rng() * 0.1;
    tcp(t, client, vm('web'), 443, true, 400);
    tcp(t + 0.01, vm('web'), client, 443, false, 8192);
  }
  // DNS lookups from every VM.
  for (const x of s.vms) {
    for (let k = 0; k < 2; k++) {
      const t = rng() * size.duration;
      out.push({
        t,
        src: { vm: x },
        dst: { external: s.resolver },
        proto: 'udp',
        port: 53,
        clientIsSrc: true,
        bytes: 40,
      });
      out.push({
        t: t + 0.02,
        src: { external: s.resolver },
        dst: { vm: x },
        proto: 'udp',
        port: 53,
        clientIsSrc: false,
        bytes: 120,
      });
    }
  }
  return out;
}

interface Connection {
  client: Party;
  server: Party;
  clientPort: number;
  serverPort: number;
}

class Emitter {
  private now = 0;
  private readonly connections = new Map<string, Connection>();
  private readonly hostOf = new Map<string, Nic>();

  constructor(
    private readonly s: Scenario,
    private readonly layout: CaptureLayout,
    private readonly mss: number,
  ) {
    for (const h of s.hosts) this.hostOf.set(h.name, h);
  }

  message(m: Message): void {
    this.now = Math.max(this.now, m.t);
    if (m.proto === 'udp') {
      const clientPort = 40000 + (this.partyIndex(m.clientIsSrc ? m.src : m.dst) % 20000);
      const [sport, dport] = m.clientIsSrc ? [clientPort, m.port] : [m.port, clientPort];
      this.packet(m.src, m.dst, 'udp', sport, dport, m.bytes, 0);
      return;
    }
    const c = this.connection(m);
    const fromClient = m.clientIsSrc;
    const sport = fromClient ? c.clientPort : c.serverPort;
    const dport = fromClient ? c.serverPort : c.clientPort;
    const segments = Math.max(1, Math.ceil(m.bytes / this.mss));
    for (let i = 0; i < segments; i++) {
      const payload = i === segments - 1 ? m.bytes - this.mss * (segments - 1) : this.mss;
      const last = i === segments - 1;
      this.packet(m.src, m.dst, 'tcp', sport, dport, payload, TCP_FLAGS.ACK | (last ? TCP_FLAGS.PSH : 0));
      if ((i + 1) % ACK_EVERY === 0 || last) this.packet(m.dst, m.src, 'tcp', dport, sport, 0, TCP_FLAGS.ACK);
    }
  }

  arpGateway(vm: ScenarioVm, t: number): void {
    const gw = this.s.gateways.get(vm.cloud) as Nic;
    this.now = Math.max(this.now, t);
    this.arp(vm, 1, vm, { mac: 0xffffffffffff, ip: gw.ip });
    this.arp(vm, 2, gw, vm);
  }

  closeAll(): void {
    for (const c of this.connections.values()) {
      this.packet(c.client, c.server, 'tcp', c.clientPort, c.serverPort, 0, TCP_FLAGS.FIN | TCP_FLAGS.ACK);
      this.packet(c.server, c.client, 'tcp', c.serverPort, c.clientPort, 0, TCP_FLAGS.FIN | TCP_FLAGS.ACK);
      this.packet(c.client, c.server, 'tcp', c.clientPort, c.serverPort, 0, TCP_FLAGS.ACK);
    }
  }

  private connection(m: Message): Connection {
    const client = m.clientIsSrc ? m.src : m.dst;
    const server = m.clientIsSrc ? m.dst : m.src;
    const key = `${this.partyIndex(client)}>${this.partyIndex(server)}:${m.port}`;
    let c = this.connections.get(key);
    if (c === undefined) {
      c = { client, server, clientPort: 32768 + this.connections.size, serverPort: m.port };
      this.connections.set(key, c);
      this.packet(client, server, 'tcp', c.clientPort, c.serverPort, 0, TCP_FLAGS.SYN);
      this.packet(server, client, 'tcp', c.serverPort, c.clientPort, 0, TCP_FLAGS.SYN | TCP_FLAGS.ACK);
      this.packet(client, server, 'tcp', c.clientPort, c.serverPort, 0, TCP_FLAGS.ACK);
    }
    return c;
  }

  private partyIndex(p: Party): number {
    return 'vm' in p ? this.s.vms.indexOf(p.vm) : 100000 + (p.external.ip & 0xffff);
  }

  private packet(
    src: Party,
    dst: Party,
    proto: 'tcp' | 'udp',
    sport: number,
    dport: number,
    payload: number,
    flags: number,
  ): void {
    const srcVm = 'vm' in src ? src.vm : undefined;
    const dstVm = 'vm' in dst ? dst.vm : undefined;
    const anchor = (srcVm ?? dstVm) as ScenarioVm;
    const gw = this.s.gateways.get(anchor.cloud) as Nic;
    const srcNic: Nic = srcVm ?? { mac: gw.mac, ip: (src as { external: Nic }).external.ip };
    const dstNic: Nic = dstVm ?? { mac: gw.mac, ip: (dst as { external: Nic }).external.ip };
    const crossHost = srcVm !== undefined && dstVm !== undefined && srcVm.host !== dstVm.host;
    const tunnel = crossHost
      ? { src: this.hostOf.get(srcVm.host) as Nic, dst: this.hostOf.get(dstVm.host) as Nic, vni: VNI }
      : undefined;
    const len = frameLength(proto, payload, tunnel !== undefined);
    for (const w of this.writers(anchor.host, crossHost ? dstVm.host : undefined)) {
      const p = w.frame(this.now, len);
      writeFrame(w.buffer, p, srcNic, dstNic, proto, sport, dport, payload, flags, tunnel);
    }
    this.now += (len * 8) / LINK_BPS + 2e-6;
  }

  private arp(owner: ScenarioVm, op: 1 | 2, sender: Nic, target: Nic): void {
    for (const w of this.writers(owner.host, undefined)) {
      const p = w.frame(this.now, 42);
      const b = w.buffer;
      b.writeUIntBE(op === 1 ? 0xffffffffffff : target.mac, p, 6);
      b.writeUIntBE(sender.mac, p + 6, 6);
      b.writeUInt16BE(0x0806, p + 12);
      b.writeUInt32BE(0x00010800, p + 14);
      b.writeUInt32BE(0x06040000 | op, p + 18);
      b.writeUIntBE(sender.mac, p + 22, 6);
      b.writeUInt32BE(sender.ip, p + 28);
      b.writeUIntBE(op === 1 ? 0 : target.mac, p + 32, 6);
      b.writeUInt32BE(target.ip, p + 38);
    }
    this.now += (42 * 8) / LINK_BPS + 2e-6;
  }

  private writers(senderHost: string, receiverHost: string | undefined): PcapWriter[] {
    if ('single' in this.layout) return [this.layout.single];
    const out = [this.layout.perHost.get(senderHost) as PcapWriter];
    if (receiverHost !== undefined) out.push(this.layout.perHost.get(receiverHost) as PcapWriter);
    return out;
  }
}
