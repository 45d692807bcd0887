import type { InventoryInput } from '../inventory/schema.js';
import type { Nic } from './frame-builder.js';

/**
 * A virtual cluster over three clouds (named after the sky-computing testbeds) running three distributed
 * applications with known communication patterns, plus internet traffic:
 *   - "mr":  a MapReduce job whose mappers shuffle to every reducer in bursts;
 *   - "cfd": a 2-D stencil, each rank exchanging halos with its four grid neighbours;
 *   - "rw":  a render farm, one master handing tasks to workers that send results back;
 *   - "web": a frontend serving internet clients.
 * The placement is deliberately poor (coupled VMs split across clouds), so the planner has work to do.
 */
export interface ScenarioSize {
  mappers: number;
  reducers: number;
  gridWidth: number;
  gridHeight: number;
  workers: number;
  hostsPerCloud: number;
  /** Seconds of traffic. */
  duration: number;
  /** Multiplies every message size (bench captures use it to reach millions of packets). */
  volume: number;
}

export const FIXTURE_SIZE: ScenarioSize = {
  mappers: 4,
  reducers: 4,
  gridWidth: 3,
  gridHeight: 3,
  workers: 6,
  hostsPerCloud: 2,
  duration: 60,
  volume: 1,
};

export const CLOUDS = ['rennes', 'chicago', 'sandiego'] as const;

export interface ScenarioVm extends Nic {
  name: string;
  cloud: string;
  host: string;
  job: 'mr' | 'cfd' | 'rw' | 'web';
  vcpus: number;
  memoryGiB: number;
}

export interface ScenarioHost extends Nic {
  name: string;
  cloud: string;
}

export interface Scenario {
  size: ScenarioSize;
  vms: ScenarioVm[];
  hosts: ScenarioHost[];
  /** One router per cloud: traffic to the internet leaves through it. */
  gateways: Map<string, Nic>;
  clients: Nic[];
  resolver: Nic;
  objectStore: Nic;
}

export const VNI = 5001;

function ip(a: number, b: number, c: number, d: number): number {
  return ((a << 24) | (b << 16) | (c << 8) | d) >>> 0;
}

export function buildScenario(size: ScenarioSize): Scenario {
  const hosts: ScenarioHost[] = [];
  CLOUDS.forEach((cloud, c) => {
    for (let h = 0; h < size.hostsPerCloud; h++) {
      hosts.push({
        name: `${cloud}-hv${h + 1}`,
        cloud,
        mac: 0x02aa00000000 + c * 256 + h,
        ip: ip(172, 16 + c, 1, h + 1),
      });
    }
  });
  const vms: ScenarioVm[] = [];
  const add = (
    name: string,
    cloudIndex: number,
    job: ScenarioVm['job'],
    vcpus: number,
    memoryGiB: number,
  ) => {
    const n = vms.length + 1;
    const cloud = CLOUDS[cloudIndex % CLOUDS.length] as string;
    const inCloud = vms.filter((v) => v.cloud === cloud).length;
    const host = `${cloud}-hv${(inCloud % size.hostsPerCloud) + 1}`;
    vms.push({
      name,
      cloud,
      host,
      job,
      vcpus,
      memoryGiB,
      mac: 0x020000000000 + n,
      ip: ip(10, 10, n >> 8, n & 255),
    });
  };
  for (let i = 0; i < size.mappers; i++) add(`mr-map${i}`, 0, 'mr', 4, 8);
  for (let i = 0; i < size.reducers; i++) add(`mr-red${i}`, i % 2 === 0 ? 0 : 1, 'mr', 4, 16);
  for (let y = 0; y < size.gridHeight; y++) {
    for (let x = 0; x < size.gridWidth; x++) add(`cfd-${x}-${y}`, (x + y) % 2 === 0 ? 1 : 2, 'cfd', 8, 16);
  }
  add('rw-master', 2, 'rw', 2, 4);
  for (let i = 0; i < size.workers; i++) add(`rw-worker${i}`, i % 3, 'rw', 8, 8);
  add('web', 0, 'web', 2, 4);
  const gateways = new Map<string, Nic>(
    CLOUDS.map((cloud, c) => [cloud, { mac: 0x02ff00000001 + c, ip: ip(10, 10, 255, 1 + c) }]),
  );
  return {
    size,
    vms,
    hosts,
    gateways,
    clients: [
      { mac: 0, ip: ip(203, 0, 113, 10) },
      { mac: 0, ip: ip(203, 0, 113, 20) },
    ],
    resolver: { mac: 0, ip: ip(192, 0, 2, 53) },
    objectStore: { mac: 0, ip: ip(198, 18, 0, 7) },
  };
}

const JOB_IMAGES: Record<ScenarioVm['job'], string> = {
  mr: 'hadoop-3.3',
  cfd: 'openfoam-11',
  rw: 'blender-4',
  web: 'nginx-1.24',
};

/**
 * The inventory and clouds spec an operator would write for this cluster: public-cloud-like prices
 * (egress $/GB, compute $/vCPU-hour and $/GiB-hour), capacities that do not let one cloud take
 * everything, WAN bandwidth, images for dedup-aware migration, and a residency pin for the web frontend.
 */
/** As an operator writes it: fields with defaults (disks, nics) are left out where empty. */
export function scenarioInventory(s: Scenario): InventoryInput {
  const hex = (mac: number) =>
    mac
      .toString(16)
      .padStart(12, '0')
      .replace(/(..)(?!$)/g, '$1:');
  const dotted = (n: number) => `${n >>> 24}.${(n >>> 16) & 255}.${(n >>> 8) & 255}.${n & 255}`;
  const vcpus = s.vms.reduce((sum, v) => sum + v.vcpus, 0);
  const memory = s.vms.reduce((sum, v) => sum + v.memoryGiB, 0);
  const capacity = {
    vcpus: Math.ceil(vcpus * 0.6),
    memoryGiB: Math.ceil(memory * 0.6),
    vms: Math.ceil(s.vms.length * 0.6),
  };
  const clouds: InventoryInput['clouds'] = [
    {
      name: 'rennes',
      capacity,
      compute: { vcpuHour: 0.021, gibHour: 0.0028 },
      egress: { default: 0.02, internet: 0.09 },
      wan: { defaultMbps: 1000, toMbps: { sandiego: 400 } },
    },
    {
      name: 'chicago',
      capacity,
      compute: { vcpuHour: 0.024, gibHour: 0.0032 },
      egress: { default: 0.02, internet: 0.09, to: { sandiego: 0.01 } },
      wan: { defaultMbps: 1000 },
    },
    {
      name: 'sandiego',
      capacity,
      compute: { vcpuHour: 0.026, gibHour: 0.0035 },
      egress: { default: 0.08, internet: 0.12 },
      wan: { defaultMbps: 1000, toMbps: { rennes: 400 } },
    },
  ].filter((c) => (CLOUDS as readonly string[]).includes(c.name));
  return {
    clouds,
    hosts: s.hosts.map((h) => ({ name: h.name, cloud: h.cloud })),
    vms: s.vms.map((v) => ({
      name: v.name,
      cloud: v.cloud,
      host: v.host,
      vcpus: v.vcpus,
      memoryGiB: v.memoryGiB,
      image: JOB_IMAGES[v.job],
      nics: [{ mac: hex(v.mac), ips: [dotted(v.ip)] }],
      ...(v.job === 'web' ? { pinned: true } : {}),
    })),
    images: Object.values(JOB_IMAGES).map((name) => ({ name, similarity: 0.35 })),
  };
}
