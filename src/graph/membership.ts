import type { Communities } from './communities.js';
import type { GraphView } from './graph-view.js';
import { segmentPhases } from './phases.js';

/** A VM whose traffic left one community for another, from window start `at` on. */
export interface MembershipChange {
  vm: string;
  from: number;
  to: number;
  at: number;
}

/**
 * Which community each VM talks to, window by window (the one its bytes go to and come from most, not
 * counting external peers),
 * cut into runs by the phase rule: where a run's community differs from the one before, the VM moved.
 * Communities are those of the whole capture, so a VM that changed jobs is reported with the time.
 */
export function membershipChanges(graph: GraphView, found: Communities, seconds: number): MembershipChange[] {
  const kind = new Map(graph.nodes.map((n) => [n.id, n.kind]));
  let first = Number.POSITIVE_INFINITY;
  for (const e of graph.edges) for (const [start] of e.windows?.series ?? []) first = Math.min(first, start);
  if (!Number.isFinite(first) || !(seconds > 0)) return [];
  // VM → window → community of its peers → bytes.
  const talk = new Map<string, Map<number, Map<number, number>>>();
  // Traffic with external peers says nothing of the VM's job: the internet is in no one's community.
  const add = (vm: string, k: number, peer: string, bytes: number) => {
    const community = found.of.get(peer);
    if (community === undefined || kind.get(vm) !== 'vm' || kind.get(peer) === 'external') return;
    const windows = talk.get(vm) ?? new Map<number, Map<number, number>>();
    talk.set(vm, windows);
    const peers = windows.get(k) ?? new Map<number, number>();
    windows.set(k, peers);
    peers.set(community, (peers.get(community) ?? 0) + bytes);
  };
  for (const e of graph.edges) {
    if (e.source === e.target) continue;
    for (const [start, bytes] of e.windows?.series ?? []) {
      const k = Math.round((start - first) / seconds);
      add(e.source, k, e.target, bytes);
      add(e.target, k, e.source, bytes);
    }
  }
  const changes: MembershipChange[] = [];
  for (const [vm, windows] of [...talk].sort((a, b) => (a[0] < b[0] ? -1 : 1))) {
    let count = 0;
    for (const k of windows.keys()) count = Math.max(count, k + 1);
    const shapes = Array.from({ length: count }, (_, k) => {
      const peers = windows.get(k);
      if (peers === undefined) return { bytes: 0, pattern: '' };
      let [best, most, bytes] = [-1, -1, 0];
      for (const [c, b] of peers) {
        bytes += b;
        if (b > most || (b === most && c < best)) [best, most] = [c, b];
      }
      return { bytes, pattern: String(best) };
    });
    let previous: string | undefined;
    for (const [from] of segmentPhases(shapes)) {
      const community = (shapes[from] as { pattern: string }).pattern;
      if (previous !== undefined && community !== previous)
        changes.push({ vm, from: Number(previous), to: Number(community), at: first + from * seconds });
      previous = community;
    }
  }
  return changes;
}
