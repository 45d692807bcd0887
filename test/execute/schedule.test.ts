import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { seededRng } from '../../planner/rng.js';
import {
  CONCURRENCY_DEFAULTS,
  DeadlockError,
  type Load,
  type Migration,
  type ScheduleInput,
  schedule,
  type Wave,
} from '../../src/execute/schedule.js';

const GB = 1e9;

function migration(vm: string, from: string, to: string, extra: Partial<Migration> = {}): Migration {
  const hosts = { fromHost: null, toHost: null };
  return {
    vm,
    from,
    to,
    ...hosts,
    vcpus: 2,
    memoryGiB: 4,
    image: null,
    wanBytes: 4 * GB,
    seconds: 40,
    ...extra,
  };
}

function input(
  migrations: Migration[],
  clouds: Record<string, { vms: number; cap: number | null }>,
  extra: Partial<ScheduleInput> = {},
): ScheduleInput {
  const names = Object.keys(clouds);
  return {
    migrations,
    load: new Map(names.map((c) => [c, { vcpus: 0, memoryGiB: 0, vms: (clouds[c] as { vms: number }).vms }])),
    capacity: new Map(
      names.map((c) => [c, { vcpus: null, memoryGiB: null, vms: (clouds[c] as { cap: number | null }).cap }]),
    ),
    wan: new Map(
      names.map((a) => [a, Object.fromEntries(names.filter((b) => b !== a).map((b) => [b, 1e8]))]),
    ),
    coupling: new Map(),
    limits: CONCURRENCY_DEFAULTS,
    ...extra,
  };
}

/**
 * Replays the waves: no cloud over capacity at any instant, limits kept, every VM ends at its target,
 * and each wave full: no later migration (of a VM moved in one hop, with no image) could have joined it.
 */
function check(inp: ScheduleInput, waves: Wave[]): void {
  const load = new Map([...inp.load].map(([c, l]) => [c, { ...l }]));
  const where = new Map(inp.migrations.map((m) => [m.vm, m.from]));
  const hops = new Map<string, number>();
  for (const m of waves.flatMap((x) => x.migrations)) hops.set(m.vm, (hops.get(m.vm) ?? 0) + 1);
  for (const [w, wave] of waves.entries()) {
    const during = new Map([...load].map(([c, l]) => [c, { ...l }]));
    const counts = new Map<string, number>();
    for (const m of wave.migrations) {
      assert.equal(where.get(m.vm), m.from, `wave ${w}: ${m.vm} leaves from where it is`);
      const l = during.get(m.to) as Load;
      l.vms += 1;
      l.vcpus += m.vcpus;
      l.memoryGiB += m.memoryGiB;
      for (const key of [`s${m.from}`, `d${m.to}`, `l${m.from}>${m.to}`])
        counts.set(key, (counts.get(key) ?? 0) + 1);
    }
    for (const [c, l] of during) {
      const cap = inp.capacity.get(c)?.vms;
      if (cap !== null && cap !== undefined)
        assert.ok(l.vms <= cap, `wave ${w}: ${c} holds ${l.vms} > ${cap}`);
    }
    for (const [key, n] of counts) {
      const limit = key.startsWith('s')
        ? inp.limits.perSource
        : key.startsWith('d')
          ? inp.limits.perDestination
          : inp.limits.perLink;
      assert.ok(n <= limit, `wave ${w}: ${key} runs ${n} migrations`);
    }
    for (const m of waves.slice(w + 1).flatMap((x) => x.migrations)) {
      if (hops.get(m.vm) !== 1 || m.image !== null || where.get(m.vm) !== m.from) continue;
      const cap = inp.capacity.get(m.to)?.vms;
      const room = cap === null || cap === undefined || (during.get(m.to) as Load).vms + 1 <= cap;
      const under =
        (counts.get(`s${m.from}`) ?? 0) < inp.limits.perSource &&
        (counts.get(`d${m.to}`) ?? 0) < inp.limits.perDestination &&
        (counts.get(`l${m.from}>${m.to}`) ?? 0) < inp.limits.perLink;
      assert.ok(!(room && under), `wave ${w}: ${m.vm} (${m.from} → ${m.to}) could have joined it`);
    }
    for (const m of wave.migrations) {
      (load.get(m.to) as Load).vms += 1;
      (load.get(m.from) as Load).vms -= 1;
      where.set(m.vm, m.to);
    }
  }
  for (const m of inp.migrations) assert.equal(where.get(m.vm), m.to, `${m.vm} ends at its target`);
}

describe('migration schedule', () => {
  it('keeps every cloud within capacity while both ends hold a migrating VM', () => {
    // b has one free slot: the moves into b must go one per wave, after a's moves out free nothing there.
    const moves = [migration('x1', 'a', 'b'), migration('x2', 'a', 'b'), migration('y1', 'b', 'c')];
    const inp = input(moves, { a: { vms: 2, cap: 2 }, b: { vms: 3, cap: 4 }, c: { vms: 0, cap: null } });
    const waves = schedule(inp);
    check(inp, waves);
    assert.equal(waves[0]?.migrations.filter((m) => m.to === 'b').length, 1);
  });

  it('swaps two full clouds through a third with room, in two hops', () => {
    const moves = [migration('x', 'a', 'b'), migration('y', 'b', 'a')];
    const inp = input(moves, { a: { vms: 3, cap: 3 }, b: { vms: 3, cap: 3 }, c: { vms: 0, cap: 1 } });
    const waves = schedule(inp);
    check(inp, waves);
    const all = waves.flatMap((w) => w.migrations);
    assert.equal(all.length, 3);
    assert.ok(all.some((m) => m.to === 'c' && m.stagingFor !== undefined));
  });

  it('names every blocked move when no order and no staging cloud exists', () => {
    const moves = [migration('x', 'a', 'b'), migration('y', 'b', 'a')];
    const inp = input(moves, { a: { vms: 3, cap: 3 }, b: { vms: 3, cap: 3 } });
    assert.throws(
      () => schedule(inp),
      (err: unknown) =>
        err instanceof DeadlockError &&
        /x \(a → b\) waits for room in b; y \(b → a\) waits for room in a/.test(err.message),
    );
  });

  it('keeps per-source, per-destination and per-link limits, and estimates each wave from the link', () => {
    const moves = Array.from({ length: 7 }, (_, i) => migration(`v${i}`, 'a', i % 2 ? 'b' : 'c'));
    const inp = input(
      moves,
      { a: { vms: 7, cap: null }, b: { vms: 0, cap: null }, c: { vms: 0, cap: null } },
      {
        limits: { perSource: 3, perDestination: 2, perLink: 1 },
      },
    );
    const waves = schedule(inp);
    check(inp, waves);
    assert.equal(waves.length, 4);
    // One migration per link per wave, 4 GB at 100 MB/s each.
    assert.equal(waves[0]?.seconds, 40);
  });

  it('moves coupled VMs in the same or consecutive waves, heaviest group first', () => {
    const moves = ['p1', 'p2', 'p3', 'q1', 'q2', 'q3'].map((vm) => migration(vm, 'a', 'b'));
    const coupling = new Map<string, Map<string, number>>([
      [
        'p1',
        new Map([
          ['p2', 10],
          ['p3', 10],
        ]),
      ],
      [
        'q1',
        new Map([
          ['q2', 1000],
          ['q3', 1000],
        ]),
      ],
    ]);
    const inp = input(moves, { a: { vms: 6, cap: null }, b: { vms: 0, cap: null } }, { coupling });
    const waves = schedule(inp);
    check(inp, waves);
    const waveOf = new Map(waves.flatMap((w, i) => w.migrations.map((m) => [m.vm, i] as const)));
    const span = (vms: string[]) =>
      Math.max(...vms.map((v) => waveOf.get(v) as number)) -
      Math.min(...vms.map((v) => waveOf.get(v) as number));
    assert.ok(span(['q1', 'q2', 'q3']) <= 1);
    assert.ok(span(['p1', 'p2', 'p3']) <= 1);
    assert.equal(waveOf.get('q1'), 0, 'the heavier group goes first');
  });

  it('sends the largest VM of an image first, and its siblings to that cloud after it', () => {
    const moves = [
      migration('small', 'a', 'b', { image: 'debian', memoryGiB: 2 }),
      migration('big', 'a', 'b', { image: 'debian', memoryGiB: 16 }),
      migration('other', 'a', 'b', { image: 'debian', memoryGiB: 4 }),
    ];
    const inp = input(
      moves,
      { a: { vms: 3, cap: null }, b: { vms: 0, cap: null } },
      {
        limits: { perSource: 4, perDestination: 4, perLink: 4 },
      },
    );
    const waves = schedule(inp);
    check(inp, waves);
    assert.deepEqual(
      waves[0]?.migrations.map((m) => m.vm),
      ['big'],
    );
    assert.deepEqual(
      waves
        .slice(1)
        .flatMap((w) => w.migrations.map((m) => m.vm))
        .sort(),
      ['other', 'small'],
    );
  });

  it('does not hold siblings back where their image is present already', () => {
    const moves = [
      migration('small', 'a', 'b', { image: 'debian', memoryGiB: 2 }),
      migration('big', 'a', 'b', { image: 'debian', memoryGiB: 16 }),
      migration('elsewhere', 'a', 'c', { image: 'debian', memoryGiB: 4 }),
      migration('late', 'a', 'c', { image: 'debian', memoryGiB: 1 }),
    ];
    const clouds = { a: { vms: 4, cap: null }, b: { vms: 0, cap: null }, c: { vms: 0, cap: null } };
    const limits = { perSource: 4, perDestination: 4, perLink: 4 };
    const waves = schedule(input(moves, clouds, { limits, present: new Set(['debian\u0000b']) }));
    assert.deepEqual(
      waves.map((w) => w.migrations.map((m) => m.vm).sort()),
      [['big', 'elsewhere', 'small'], ['late']],
      'into b all at once; into c, where debian must cross, its largest VM first',
    );
  });

  it('random plans: every schedule replays within capacity and limits, or the deadlock is real', () => {
    let deadlocks = 0;
    for (let seed = 1; seed <= 300; seed++) {
      const rng = seededRng(seed);
      const clouds = ['a', 'b', 'c', 'd'].slice(0, 2 + Math.floor(rng() * 3));
      const vms = 4 + Math.floor(rng() * 20);
      const from = Array.from({ length: vms }, () => clouds[Math.floor(rng() * clouds.length)] as string);
      const to = from.map((f) => (rng() < 0.5 ? f : (clouds[Math.floor(rng() * clouds.length)] as string)));
      const count = (xs: string[], c: string) => xs.filter((x) => x === c).length;
      // Capacities that hold both the start and the end, with 0-1 spare slots.
      const caps = Object.fromEntries(
        clouds.map((c) => [
          c,
          { vms: count(from, c), cap: Math.max(count(from, c), count(to, c)) + Math.floor(rng() * 2) },
        ]),
      );
      const moves = from.flatMap((f, i) => (f === to[i] ? [] : [migration(`v${i}`, f, to[i] as string)]));
      const limits = {
        perSource: 1 + Math.floor(rng() * 3),
        perDestination: 1 + Math.floor(rng() * 3),
        perLink: 1 + Math.floor(rng() * 2),
      };
      const inp = input(moves, caps, { limits });
      try {
        check(inp, schedule(inp));
      } catch (err) {
        if (!(err instanceof DeadlockError)) throw err;
        // A real deadlock: every waiting move's destination is full, and no third cloud has a slot.
        deadlocks++;
        const room = (c: string) => (err.load.get(c)?.vms ?? 0) < (caps[c] as { cap: number }).cap;
        for (const { migration: m } of err.waiting) {
          assert.equal(room(m.to), false, `${m.vm}: ${m.to} has room`);
          for (const c of clouds) if (c !== m.from && c !== m.to) assert.equal(room(c), false);
        }
      }
    }
    assert.ok(deadlocks < 150, `${deadlocks} of 300 deadlocked`);
  });

  it('hand-edited plans (ends over capacity, unknown clouds): a schedule or a DeadlockError, never a hang', () => {
    let deadlocks = 0;
    for (let seed = 1; seed <= 300; seed++) {
      const rng = seededRng(seed);
      const known = ['a', 'b', 'c', 'd'].slice(0, 2 + Math.floor(rng() * 3));
      const any = [...known, 'nowhere'];
      const pick = (xs: string[]) => xs[Math.floor(rng() * xs.length)] as string;
      const moves = Array.from({ length: 2 + Math.floor(rng() * 12) }, (_, i) => {
        const from = pick(any);
        return migration(`v${i}`, from, pick(any.filter((c) => c !== from)));
      });
      // Full clouds, or nearly: the end state may not fit.
      const caps = Object.fromEntries(
        known.map((c) => [c, { vms: Math.floor(rng() * 4), cap: Math.floor(rng() * 4) }]),
      );
      // Hand-written bandwidth lists every cloud, including the unknown one.
      const wan = new Map(
        any.map((x) => [x, Object.fromEntries(any.filter((y) => y !== x).map((y) => [y, 1e8]))]),
      );
      const inp = input(moves, caps, { wan });
      try {
        const waves = schedule(inp);
        // Each VM is staged at most once, so at most two hops per move.
        assert.ok(waves.reduce((n, w) => n + w.migrations.length, 0) <= 2 * moves.length);
      } catch (err) {
        if (!(err instanceof DeadlockError)) throw err;
        deadlocks++;
      }
    }
    assert.ok(deadlocks > 0, 'some of these plans cannot be carried out');
  });
});
