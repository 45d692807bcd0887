/**
 * The placement problem in compact form: what the solvers see. Nothing here knows about packets,
 * files or the CLI; `src/plan/build-problem.ts` builds it from a graph and a clouds spec.
 * Clouds and VMs are referred to by index. Money is in dollars, rates in bytes per second.
 */
export interface PlanCloud {
  name: string;
  /** Infinity where the spec sets no limit. */
  capacity: { vcpus: number; memoryGiB: number; vms: number };
  /** $ per hour. */
  compute: { vcpuHour: number; gibHour: number; vmHour: number };
  /** $/GB to the internet. */
  internetPerGB: number;
}

export interface PlanVm {
  name: string;
  vcpus: number;
  memoryGiB: number;
  /** Current cloud, or -1 for a new VM (placing it costs no migration). */
  current: number;
  /** allowed[c]: residency, pins and deny lists folded together. */
  allowed: boolean[];
  /** Bytes a migration of this VM puts on the WAN that no other VM shares. */
  uniqueBytes: number;
  /** The part of uniqueBytes that is disk blocks (the rest is memory). */
  diskBytes: number;
  /** Image (content group) index, or -1. */
  image: number;
  /** Bytes/s this VM sends to the internet (billed at its cloud's internet price). */
  internetRate: number;
  /**
   * Bytes/s exchanged with endpoints that do not move (known hosts in a cloud), per cloud:
   * fixedOut[c] is sent to endpoints in c, fixedIn[c] received from them.
   */
  fixedOut: number[];
  fixedIn: number[];
}

/** Content shared by the VMs of one image: it crosses the WAN once per destination cloud. */
export interface PlanImage {
  name: string;
  sharedBytes: number;
  /** The part of sharedBytes that is the base disk image's blocks. */
  diskBytes: number;
  /** presentAt[c]: a VM of this image already runs in c, or its base image is stored there. */
  presentAt: boolean[];
}

export interface PlanBudget {
  bytes?: number;
  dollars?: number;
  seconds?: number;
}

export interface PlanProblem {
  clouds: PlanCloud[];
  vms: PlanVm[];
  images: PlanImage[];
  /** egress[a * k + b]: $/GB from cloud a to cloud b (0 on the diagonal). */
  egress: Float64Array;
  /** wan[a * k + b]: bytes/s available for migrations from a to b. */
  wan: Float64Array;
  /** Directed traffic between VMs: `rate[i]` bytes/s from `from[i]` to `to[i]`. */
  edges: { from: Int32Array; to: Int32Array; rate: Float64Array };
  /** How long the observed pattern is expected to hold: weighs one-time moves against recurring savings. */
  horizonSeconds: number;
  /** $ charged for each moved VM's downtime. */
  downtimePenalty: number;
  /** Groups of VM indices that must share a cloud. */
  affinity: number[][];
  /** Groups of VM indices that must all be in different clouds. */
  antiAffinity: number[][];
  maxMoves?: number;
  budget?: PlanBudget;
}

export const GB = 1e9;
