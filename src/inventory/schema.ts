import * as v from 'valibot';
import { canonicalIp, parseMac } from '../../capture/addresses.js';
import { quotedPlaceholder } from '../shell-quote.js';
import { nameSchema } from './names.js';

/**
 * The inventory / clouds spec (README "Inventory"). One file may hold clouds, hosts and VMs; the planner's
 * clouds spec is the same shape. Unknown fields are errors, so a typo never silently loses a setting.
 * (valibot rather than zod: the same checks, loaded in a fifth of the time, which every CLI run pays.)
 */
const price = v.pipe(v.number(), v.minValue(0));
const count = v.pipe(v.number(), v.integer(), v.minValue(0));
const positive = v.pipe(v.number(), v.gtValue(0));
/** A shell command template: sky-plan quotes what replaces each {placeholder}, so none may be quoted. */
const command = v.pipe(
  v.string(),
  v.check(
    (t) => quotedPlaceholder(t) === undefined,
    (issue) =>
      `${quotedPlaceholder(issue.input as string)} is inside quotes: sky-plan quotes each value itself (write {vm}, not "{vm}")`,
  ),
);

const egress = v.strictObject({
  /** $/GB to any other cloud. */
  default: v.optional(price),
  /** $/GB to the internet (external endpoints). */
  internet: v.optional(price),
  /** $/GB to a named cloud, overriding the default. */
  to: v.optional(v.record(v.string(), price)),
});

export const cloudSchema = v.strictObject({
  name: nameSchema,
  capacity: v.optional(
    v.strictObject({ vcpus: v.optional(count), memoryGiB: v.optional(price), vms: v.optional(count) }),
  ),
  compute: v.optional(
    v.strictObject({ vcpuHour: v.optional(price), gibHour: v.optional(price), vmHour: v.optional(price) }),
  ),
  egress: v.optional(egress),
  wan: v.optional(
    v.strictObject({ defaultMbps: v.optional(positive), toMbps: v.optional(v.record(v.string(), positive)) }),
  ),
  /** How `sky-plan execute --driver libvirt` reaches this cloud's hypervisor. */
  libvirt: v.optional(
    v.strictObject({
      uri: v.pipe(v.string(), v.minLength(1)),
      /** Where the migration stream goes, e.g. tcp:tunnel-host:49152 (the dedup tunnel). */
      migrateUri: v.optional(v.string()),
      listenAddress: v.optional(v.string()),
    }),
  ),
  /** This cloud's `sky-plan tunnel dest`, for `sky-plan execute --dedup` (migrations into this cloud). */
  tunnel: v.optional(
    v.strictObject({
      dest: v.pipe(v.string(), v.regex(/^.+:\d+$/, 'expected host:port')),
      pskFile: v.string(),
    }),
  ),
  /**
   * Commands `sky-plan execute` runs after each switchover, for overlays whose forwarding is not learned
   * (static VXLAN FDBs, EVPN): `arrive` of the destination cloud, then `leave` of the source. {vm},
   * {macs}, {ips}, {from}, {to}, {fromHost} and {toHost} become quoted words.
   */
  overlay: v.optional(v.strictObject({ arrive: v.optional(command), leave: v.optional(command) })),
  /** How `sky-plan execute --driver qmp` drives QEMU here; {vm} and {cloud} are substituted. */
  qmp: v.optional(
    v.strictObject({
      /** The QMP unix socket of a VM running in this cloud. */
      socket: v.pipe(v.string(), v.includes('{vm}', 'must contain {vm}')),
      /** Starts a VM's destination QEMU here, paused for an incoming migration (-incoming defer). */
      launch: v.pipe(command, v.includes('{socket}', 'must contain {socket} (the QMP socket to open)')),
      /** Address the destination QEMU listens on for the migration stream. */
      listen: v.optional(v.string(), '127.0.0.1'),
      /** Its port; by default one free on this machine, which suits QEMU running where sky-plan runs. */
      port: v.optional(v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(65535))),
      /** The port of its NBD server for a VM's disks (on `listen`); the same default. */
      nbdPort: v.optional(v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(65535))),
      /**
       * Where a VM moving here gets each disk, e.g. /srv/b/{vm}-{device}.qcow2. The launch command
       * receives them as {disks}: one `device=path` word per disk.
       */
      disk: v.optional(
        v.pipe(
          v.string(),
          v.includes('{vm}', 'must contain {vm}'),
          v.includes('{device}', 'must contain {device}'),
        ),
      ),
      /** Bytes/s each disk mirror into this cloud may use (QEMU's block job speed); no limit by default. */
      mirrorBytesPerSecond: v.optional(positive),
    }),
  ),
});

const mac = v.pipe(
  v.string(),
  v.check((s) => parseMac(s) !== undefined, 'not a MAC address (expected 02:00:00:00:00:10)'),
);
const ip = v.pipe(
  v.string(),
  v.check((s) => canonicalIp(s) !== undefined, 'not an IPv4 or IPv6 address'),
);
const overlayId = v.pipe(v.number(), v.integer(), v.minValue(0), v.maxValue(0xffffff));

const nic = v.strictObject({
  mac: v.optional(mac),
  ips: v.optional(v.array(ip)),
  vlan: v.optional(overlayId),
  vni: v.optional(overlayId),
  /** The bridge its tap is on (from libvirt); informative. */
  bridge: v.optional(v.string()),
  /**
   * Its port on the host's switch (libvirt's <target dev>, e.g. vnet3). A flow exporter that names ports
   * (Open vSwitch's IPFIX) attributes what enters or leaves by that port to this VM, whatever the
   * addresses say. Needs the VM's host, and `collect --exporter-host` for the exporter.
   */
  tap: v.optional(v.pipe(v.string(), v.minLength(1))),
});

/**
 * A disk of a VM (README "Disks"). Sizes left out are filled in from `qemu-img info` when the file is
 * readable where sky-plan runs (src/inventory/disk-info.ts).
 */
export const diskSchema = v.strictObject({
  /** QEMU's name for the disk: the node-name of its top block node, or its -drive id. */
  device: nameSchema,
  /** The image file on the VM's host. */
  path: v.pipe(v.string(), v.minLength(1)),
  format: v.optional(v.picklist(['raw', 'qcow2'])),
  virtualBytes: v.optional(count),
  /** Bytes this file holds itself (for an overlay: its own clusters, not its backing file's). */
  allocatedBytes: v.optional(count),
  /** The backing files under this one, nearest first (qcow2 only). */
  backing: v.optional(v.array(v.pipe(v.string(), v.minLength(1)))),
});

export const vmSchema = v.strictObject({
  name: nameSchema,
  cloud: v.optional(nameSchema),
  host: v.optional(nameSchema),
  vcpus: v.optional(positive),
  memoryGiB: v.optional(positive),
  /** Disk bytes a migration moves, for VMs whose disks are not listed (`disks` says more). */
  diskGiB: v.optional(price),
  disks: v.optional(v.array(diskSchema), []),
  /** Content group for dedup-aware migration cost (see `images`). */
  image: v.optional(nameSchema),
  /** Its content sketch from `sky-plan fingerprint` (a path relative to this file). */
  sketch: v.optional(v.string()),
  nics: v.optional(v.array(nic), []),
  /** Planner: keep the VM where it is. */
  pinned: v.optional(v.boolean()),
  /** Planner: the clouds it may run in (data residency), or those it may not. */
  allowedClouds: v.optional(v.array(v.string())),
  deniedClouds: v.optional(v.array(v.string())),
});

const fraction = v.pipe(v.number(), v.minValue(0), v.maxValue(1));

/**
 * VMs of one image share memory content (`similarity`) and, when their disks are overlays on it, the base
 * image's blocks: either crosses the WAN once per destination cloud, and not at all where it is present.
 */
export const imageSchema = v.strictObject({
  name: nameSchema,
  /** Share of a VM's memory that VMs of this image have in common (0.6 = 60%); measured from sketches when omitted. */
  similarity: v.optional(fraction),
  /** Allocated bytes of the base image file; read with qemu-img from a member's backing chain when omitted. */
  allocatedBytes: v.optional(count),
  /** The base image file in each cloud that has a copy, e.g. {b: /srv/images/debian.qcow2}. */
  at: v.optional(v.record(nameSchema, v.pipe(v.string(), v.minLength(1)))),
});

export const constraintsSchema = v.strictObject({
  /** Groups of VMs that must share a cloud. */
  affinity: v.optional(v.array(v.array(v.string())), []),
  /** Groups of VMs that must all run in different clouds. */
  antiAffinity: v.optional(v.array(v.array(v.string())), []),
  maxMoves: v.optional(count),
  budget: v.optional(
    v.strictObject({ bytes: v.optional(price), dollars: v.optional(price), seconds: v.optional(price) }),
  ),
});

/** A hypervisor (README "Hosts"): where its VMs run, how the drivers reach it, what it can hold. */
export const hostSchema = v.strictObject({
  name: nameSchema,
  cloud: v.optional(nameSchema),
  /** The planner fits moving VMs onto a destination host within this; a field left out is no limit. */
  capacity: v.optional(v.strictObject({ vcpus: v.optional(count), memoryGiB: v.optional(price) })),
  /** How the libvirt and script drivers reach this host; the cloud's `libvirt` when left out. */
  libvirt: v.optional(
    v.strictObject({
      uri: v.pipe(v.string(), v.minLength(1)),
      /**
       * The address migrations into this host are sent to (its migration network). libvirt picks a
       * port per migration from the host's own migration_port range, so concurrent ones never collide.
       */
      migrationAddress: v.optional(v.pipe(v.string(), v.minLength(1))),
    }),
  ),
});

export const inventorySchema = v.strictObject({
  clouds: v.optional(v.array(cloudSchema), []),
  hosts: v.optional(v.array(hostSchema), []),
  vms: v.optional(v.array(vmSchema), []),
  images: v.optional(v.array(imageSchema), []),
  constraints: v.optional(constraintsSchema),
});

export type Inventory = v.InferOutput<typeof inventorySchema>;
/** An inventory as written, before defaults are filled in. */
export type InventoryInput = v.InferInput<typeof inventorySchema>;
export type Cloud = v.InferOutput<typeof cloudSchema>;
export type Disk = v.InferOutput<typeof diskSchema>;
export type InventoryVm = v.InferOutput<typeof vmSchema>;
export type Host = v.InferOutput<typeof hostSchema>;
