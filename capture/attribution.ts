import { canonicalIp, ipToString, ipv4ToString, macToString, parseMac } from './addresses.js';

/** What attribution needs to know about a VM; the inventory loader produces it. */
export interface KnownVm {
  name: string;
  cloud?: string | undefined;
  host?: string | undefined;
  vcpus?: number | undefined;
  memoryGiB?: number | undefined;
  nics: {
    mac?: string | undefined;
    ips?: string[] | undefined;
    vlan?: number | undefined;
    vni?: number | undefined;
    /** Its port on its host's switch, as flow exporters name ports. */
    tap?: string | undefined;
  }[];
}

export type NodeKind = 'vm' | 'host' | 'unknown' | 'external';

/** A graph node as attribution names it: a VM, an address, an unknown local host, or the outside world. */
export interface Endpoint {
  id: string;
  kind: NodeKind;
  vm?: KnownVm;
}

export const EXTERNAL_ID = 'external';
/**
 * The far end of a non-IP frame whose address the capture does not carry (a cooked SLL frame names
 * its sender only): one node for all of them, rather than a made-up MAC.
 */
export const NO_MAC_ID = '(no MAC)';

/** One side of a flow, as the flow table stores it. */
export interface FlowSide {
  version: number;
  words: ArrayLike<number>;
  mac: number;
  vlan: number;
  vni: number;
}

/**
 * Maps flow endpoints to nodes: by MAC first (a NIC's MAC is unique in the cluster), then by IP within the
 * overlay (VNI, else VLAN), then by IP in any overlay for NICs that name none. Without an inventory each
 * address is its own node. With one, addresses it does not know become "unknown" hosts when ARP showed
 * them on a captured segment, and otherwise fold into one "external" node.
 */
export class Attribution {
  private readonly byMac = new Map<number, KnownVm>();
  private readonly byIp = new Map<string, KnownVm>();
  /** "host|port" → the VM whose NIC is that port. */
  private readonly byPort = new Map<string, KnownVm>();
  /** IPv4 → MAC bindings learned from ARP, bounded so an ARP flood cannot grow it without limit. */
  private readonly arpIpToMac = new Map<number, number>();
  private readonly arpMacToIp = new Map<number, number>();
  static readonly MAX_ARP_ENTRIES = 1 << 16;

  constructor(private readonly vms: readonly KnownVm[] | undefined) {
    for (const vm of vms ?? []) this.addVm(vm);
  }

  /** A VM learned after start (a collector's libvirt domains); an inventory VM of the same MAC stays. */
  learnVm(vm: KnownVm): void {
    const mac = vm.nics[0]?.mac === undefined ? undefined : parseMac(vm.nics[0].mac);
    if (mac === undefined || !this.byMac.has(mac)) this.addVm(vm);
  }

  private addVm(vm: KnownVm): void {
    for (const nic of vm.nics) {
      const mac = nic.mac === undefined ? undefined : parseMac(nic.mac);
      if (mac !== undefined) this.byMac.set(mac, vm);
      if (nic.tap !== undefined && vm.host !== undefined) this.byPort.set(`${vm.host}|${nic.tap}`, vm);
      for (const ip of nic.ips ?? []) {
        const canonical = canonicalIp(ip) ?? ip;
        this.byIp.set(`${nic.vni ?? nic.vlan ?? '*'}|${canonical}`, vm);
      }
    }
  }

  /** The inventory VM with this MAC, if any. */
  vmOfMac(mac: number): string | undefined {
    return this.byMac.get(mac)?.name;
  }

  /** The VM whose NIC is port `port` of `host`'s switch: frames through that port are its own. */
  vmOnPort(host: string, port: string): Endpoint | undefined {
    const vm = this.byPort.get(`${host}|${port}`);
    return vm === undefined ? undefined : { id: vm.name, kind: 'vm', vm };
  }

  get hasInventory(): boolean {
    return this.vms !== undefined;
  }

  learnArp(ip: number, mac: number): void {
    if (!this.arpIpToMac.has(ip) && this.arpIpToMac.size >= Attribution.MAX_ARP_ENTRIES) return;
    this.arpIpToMac.set(ip, mac);
    this.arpMacToIp.set(mac, ip);
  }

  resolve(side: FlowSide): Endpoint {
    const byMac = side.mac >= 0 ? this.byMac.get(side.mac) : undefined;
    if (byMac !== undefined) return { id: byMac.name, kind: 'vm', vm: byMac };
    if (side.version === 0) return this.resolveMacOnly(side.mac);
    const ip = ipToString(side.version, side.words);
    const overlay = side.vni >= 0 ? side.vni : side.vlan;
    const vm = (overlay >= 0 ? this.byIp.get(`${overlay}|${ip}`) : undefined) ?? this.byIp.get(`*|${ip}`);
    if (vm !== undefined) return { id: vm.name, kind: 'vm', vm };
    if (!this.hasInventory) return { id: ip, kind: 'host' };
    if (side.version === 4 && this.arpIpToMac.has(side.words[0] as number))
      return { id: ip, kind: 'unknown' };
    return { id: EXTERNAL_ID, kind: 'external' };
  }

  /** Non-IP frames: a MAC node, or the IP ARP bound to that MAC so it joins the host's IP node. */
  private resolveMacOnly(mac: number): Endpoint {
    if (mac < 0) return { id: NO_MAC_ID, kind: 'unknown' };
    const ip = this.arpMacToIp.get(mac);
    if (ip !== undefined) {
      const text = ipv4ToString(ip);
      const vm = this.byIp.get(`*|${text}`);
      if (vm !== undefined) return { id: vm.name, kind: 'vm', vm };
      return { id: text, kind: this.hasInventory ? 'unknown' : 'host' };
    }
    if (this.hasInventory) return { id: EXTERNAL_ID, kind: 'external' };
    return { id: macToString(mac), kind: 'host' };
  }
}
