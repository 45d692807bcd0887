import type { PlanMove } from '../plan/plan-document.js';
import type { ExecutablePlan } from '../plan/read-plan.js';

/** One live migration to carry out; a staged move goes through a third cloud in two hops. */
export type Migration = Pick<
  PlanMove,
  'vm' | 'from' | 'to' | 'fromHost' | 'toHost' | 'vcpus' | 'memoryGiB' | 'image' | 'wanBytes' | 'seconds'
> & {
  /** Set on the first hop of a staged move: the VM's final cloud. */
  stagingFor?: string;
};

export interface Wave {
  migrations: Migration[];
  /** Migrations sharing a link share its bandwidth: the slowest link's total. */
  seconds: number;
}

export interface ConcurrencyLimits {
  perSource: number;
  perDestination: number;
  perLink: number;
}

export const CONCURRENCY_DEFAULTS: ConcurrencyLimits = { perSource: 2, perDestination: 2, perLink: 2 };

export interface Load {
  vcpus: number;
  memoryGiB: number;
  vms: number;
}

export interface ScheduleInput {
  migrations: Migration[];
  /** What each cloud holds now. */
  load: Map<string, Load>;
  capacity: Map<string, { vcpus: number | null; memoryGiB: number | null; vms: number | null }>;
  /** Bytes/s from cloud a to cloud b, as wan.get(a)?.[b]. */
  wan: Map<string, Record<string, number>>;
  /** Bytes/s between VMs (both directions summed), to keep coupled VMs together in time. */
  coupling: Map<string, Map<string, number>>;
  limits: ConcurrencyLimits;
  /** Image→cloud pairs ("image\u0000cloud") whose content is there already: nothing to seed first. */
  present?: Set<string>;
}

/** No order of the remaining moves keeps every cloud within capacity, even through a third cloud. */
export class DeadlockError extends Error {
  constructor(
    readonly waiting: { migration: Migration; full: string }[],
    /** What each cloud holds when no move can start. */
    readonly load: Map<string, Load>,
  ) {
    super(
      `no safe order: ${waiting
        .map(({ migration: m, full }) => `${m.vm} (${m.from} → ${m.to}) waits for room in ${full}`)
        .join('; ')}, and no other cloud has room to stage any of them`,
    );
  }
}

/** The moves of a plan, with what the schedule needs, from the plan document. */
export function scheduleInput(plan: ExecutablePlan, limits: ConcurrencyLimits): ScheduleInput {
  const coupling = new Map<string, Map<string, number>>();
  for (const m of plan.moves) {
    const peers = new Map<string, number>();
    for (const p of [...m.bringsTogether, ...m.separates]) peers.set(p.peer, p.bytesPerSecond);
    coupling.set(m.vm, peers);
  }
  return {
    migrations: plan.moves.map((m) => ({
      vm: m.vm,
      from: m.from,
      to: m.to,
      fromHost: m.fromHost,
      toHost: m.toHost,
      vcpus: m.vcpus,
      memoryGiB: m.memoryGiB,
      image: m.image,
      wanBytes: m.wanBytes,
      seconds: m.seconds,
    })),
    load: new Map(
      plan.before.load.map((l) => [l.cloud, { vcpus: l.vcpus, memoryGiB: l.memoryGiB, vms: l.vms }]),
    ),
    capacity: new Map(plan.clouds.map((c) => [c.name, c.capacity])),
    wan: new Map(plan.clouds.map((c) => [c.name, c.wanBytesPerSecond])),
    coupling,
    limits,
    // The plan lists the content that must cross; an image moving anywhere else is there already. A plan
    // written before sharedContent was kept says nothing, and every image is seeded first.
    ...(plan.sharedContent === undefined
      ? {}
      : {
          present: new Set(
            plan.moves
              .filter(
                (m) =>
                  m.image !== null && !plan.sharedContent?.some((s) => s.image === m.image && s.to === m.to),
              )
              .map((m) => `${m.image}\u0000${m.to}`),
          ),
        }),
  };
}

/**
 * Orders the migrations into waves. A migrating VM holds room at both ends until it completes, so a
 * wave may only start migrations whose destinations have room for all of them at once; the sources
 * free their room when the wave ends. Swaps and cycles between full clouds go through a third cloud
 * with room (two hops); when none has room, DeadlockError names every blocked move.
 *
 * Order within the limits: coupled VMs (heavy traffic between them) in the same or consecutive waves,
 * heaviest group first; per image and destination, the largest VM first (it seeds the content the
 * others then find there), and the others in later waves, one after another.
 */
export function schedule(input: ScheduleInput): Wave[] {
  const load = new Map([...input.load].map(([c, l]) => [c, { ...l }]));
  let pending = new Pending(priorityOrder(input.migrations, input.coupling));
  const seeded = new Set<string>(input.present); // image→cloud pairs whose content is there
  // A VM goes through a third cloud at most once: with that, every round either completes a wave or
  // stages a VM not staged before, so the loop ends on any input (with a DeadlockError at worst).
  const staged = new Set<string>();
  const waves: Wave[] = [];
  while (pending.size > 0) {
    const wave = nextWave(pending, load, input, seeded);
    if (wave.length === 0) {
      pending = new Pending(stageOne(pending.left(), load, input, staged));
      continue;
    }
    for (const i of wave) {
      const m = pending.take(i);
      add(load, m.to, m, 1);
      add(load, m.from, m, -1);
      if (m.image !== null) seeded.add(`${m.image}\u0000${m.to}`);
    }
    const migrations = wave.map((i) => pending.at(i));
    waves.push({ migrations, seconds: waveSeconds(migrations, input) });
    pending.compact();
  }
  return waves;
}

/**
 * The migrations not yet in a wave, in priority order, with how many leave and enter each cloud: a wave
 * stops looking once every cloud still sending or receiving is at its limit, so scheduling n moves is
 * not n²/limit steps.
 */
class Pending {
  private list: Migration[];
  private taken: Uint8Array;
  private first = 0;
  /** Taken migrations still in `list` past `first`, which each look steps over. */
  private holes = 0;
  size: number;
  readonly from = new Map<string, number>();
  readonly to = new Map<string, number>();

  constructor(list: Migration[]) {
    this.list = list;
    this.taken = new Uint8Array(list.length);
    this.size = list.length;
    for (const m of list) {
      this.from.set(m.from, (this.from.get(m.from) ?? 0) + 1);
      this.to.set(m.to, (this.to.get(m.to) ?? 0) + 1);
    }
  }

  /** Indices of the migrations left, in order. */
  *indices(): Generator<number> {
    for (let i = this.first; i < this.list.length; i++) if (this.taken[i] === 0) yield i;
  }

  at(i: number): Migration {
    return this.list[i] as Migration;
  }

  take(i: number): Migration {
    const m = this.at(i);
    this.taken[i] = 1;
    this.size--;
    this.holes++;
    this.from.set(m.from, (this.from.get(m.from) as number) - 1);
    this.to.set(m.to, (this.to.get(m.to) as number) - 1);
    return m;
  }

  /** Drops the taken migrations once they outnumber those left (indices change then). */
  compact(): void {
    while (this.first < this.list.length && this.taken[this.first] === 1) {
      this.first++;
      this.holes--;
    }
    if (this.holes <= this.size) return;
    this.list = this.left();
    this.taken = new Uint8Array(this.list.length);
    this.first = 0;
    this.holes = 0;
  }

  left(): Migration[] {
    return [...this.indices()].map((i) => this.at(i));
  }

  /** Clouds with migrations left to leave (`from`) or to enter (`to`) them. */
  busy(side: 'from' | 'to'): number {
    let n = 0;
    for (const count of this[side].values()) if (count > 0) n++;
    return n;
  }
}

/** The next wave, as indices into `pending`. */
function nextWave(
  pending: Pending,
  load: Map<string, Load>,
  input: ScheduleInput,
  seeded: Set<string>,
): number[] {
  const incoming = new Map<string, Load>();
  const count = new Map<string, number>();
  const seedingNow = new Set<string>();
  const wave: number[] = [];
  const bump = (key: string) => {
    const n = (count.get(key) ?? 0) + 1;
    count.set(key, n);
    return n;
  };
  const { perSource, perDestination, perLink } = input.limits;
  const [sources, destinations] = [pending.busy('from'), pending.busy('to')];
  let [fullSources, fullDestinations] = [0, 0];
  for (const i of pending.indices()) {
    const m = pending.at(i);
    if ((count.get(`s\u0000${m.from}`) ?? 0) >= perSource) continue;
    if ((count.get(`d\u0000${m.to}`) ?? 0) >= perDestination) continue;
    if ((count.get(`l\u0000${m.from}\u0000${m.to}`) ?? 0) >= perLink) continue;
    const content = m.image === null ? null : `${m.image}\u0000${m.to}`;
    // The content's first carrier goes alone; the others follow once it is there.
    if (content !== null && seedingNow.has(content)) continue;
    if (!fits(load, incoming, input, m.to, m)) continue;
    wave.push(i);
    add(incoming, m.to, m, 1);
    if (bump(`s\u0000${m.from}`) === perSource) fullSources++;
    if (bump(`d\u0000${m.to}`) === perDestination) fullDestinations++;
    bump(`l\u0000${m.from}\u0000${m.to}`);
    if (content !== null && !seeded.has(content)) seedingNow.add(content);
    if (fullSources === sources || fullDestinations === destinations) break;
  }
  return wave;
}

/** Breaks a deadlock by sending one blocked VM through a third cloud that has room for it. */
function stageOne(
  pending: Migration[],
  load: Map<string, Load>,
  input: ScheduleInput,
  staged: Set<string>,
): Migration[] {
  const none = new Map<string, Load>();
  for (const m of pending) {
    if (staged.has(m.vm)) continue;
    for (const via of [...input.capacity.keys()].sort()) {
      if (via === m.from || via === m.to || !fits(load, none, input, via, m)) continue;
      const rate1 = input.wan.get(m.from)?.[via];
      const rate2 = input.wan.get(via)?.[m.to];
      if (rate1 === undefined || rate2 === undefined) continue;
      // No host was chosen in the staging cloud: the drivers use its cloud-wide settings there.
      const first: Migration = { ...m, to: via, toHost: null, seconds: m.wanBytes / rate1, stagingFor: m.to };
      const second: Migration = { ...m, from: via, fromHost: null, seconds: m.wanBytes / rate2 };
      staged.add(m.vm);
      return [first, ...pending.filter((p) => p !== m), second];
    }
  }
  throw new DeadlockError(
    pending.map((m) => ({ migration: m, full: m.to })),
    load,
  );
}

function fits(
  load: Map<string, Load>,
  incoming: Map<string, Load>,
  input: ScheduleInput,
  cloud: string,
  m: Migration,
): boolean {
  const cap = input.capacity.get(cloud);
  if (cap === undefined) return false;
  const now = load.get(cloud) ?? { vcpus: 0, memoryGiB: 0, vms: 0 };
  const coming = incoming.get(cloud) ?? { vcpus: 0, memoryGiB: 0, vms: 0 };
  const within = (limit: number | null, used: number) => limit === null || used <= limit + 1e-9;
  return (
    within(cap.vcpus, now.vcpus + coming.vcpus + m.vcpus) &&
    within(cap.memoryGiB, now.memoryGiB + coming.memoryGiB + m.memoryGiB) &&
    within(cap.vms, now.vms + coming.vms + 1)
  );
}

function add(load: Map<string, Load>, cloud: string, m: Migration, sign: number): void {
  const l = load.get(cloud) ?? { vcpus: 0, memoryGiB: 0, vms: 0 };
  l.vcpus += sign * m.vcpus;
  l.memoryGiB += sign * m.memoryGiB;
  l.vms += sign;
  load.set(cloud, l);
}

function waveSeconds(wave: Migration[], input: ScheduleInput): number {
  const perLink = new Map<string, number>();
  for (const m of wave) {
    const rate = input.wan.get(m.from)?.[m.to];
    const seconds = rate === undefined ? m.seconds : m.wanBytes / rate;
    const key = `${m.from}\u0000${m.to}`;
    perLink.set(key, (perLink.get(key) ?? 0) + seconds);
  }
  return Math.max(0, ...perLink.values());
}

/**
 * Coupled groups (VMs moving together that exchange traffic), heaviest first; within a group, by
 * destination and image, the largest VM of each image first.
 */
function priorityOrder(migrations: Migration[], coupling: Map<string, Map<string, number>>): Migration[] {
  const moving = new Map(migrations.map((m) => [m.vm, m]));
  const parent = new Map(migrations.map((m) => [m.vm, m.vm]));
  const find = (x: string): string => {
    let r = x;
    while (parent.get(r) !== r) r = parent.get(r) as string;
    for (let y = x; y !== r; ) {
      const next = parent.get(y) as string;
      parent.set(y, r);
      y = next;
    }
    return r;
  };
  const weight = new Map<string, number>();
  for (const m of migrations) {
    for (const [peer, rate] of coupling.get(m.vm) ?? []) {
      if (moving.get(peer)?.to !== m.to) continue;
      parent.set(find(m.vm), find(peer));
      weight.set(m.vm, (weight.get(m.vm) ?? 0) + rate);
    }
  }
  const groupWeight = new Map<string, number>();
  for (const m of migrations)
    groupWeight.set(find(m.vm), (groupWeight.get(find(m.vm)) ?? 0) + (weight.get(m.vm) ?? 0));
  return [...migrations].sort(
    (a, b) =>
      (groupWeight.get(find(b.vm)) as number) - (groupWeight.get(find(a.vm)) as number) ||
      find(a.vm).localeCompare(find(b.vm)) ||
      a.to.localeCompare(b.to) ||
      (a.image ?? '').localeCompare(b.image ?? '') ||
      b.memoryGiB - a.memoryGiB ||
      a.vm.localeCompare(b.vm),
  );
}
