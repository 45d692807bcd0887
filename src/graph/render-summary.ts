import { formatBytes, formatCount, formatMoney, formatPercent, textTable } from '../text-format.js';
import { utcTime } from '../utc-time.js';
import type { GraphDocument } from './graph-model.js';

const TOP_TUNNELS = 10;

/**
 * The human view of `analyze`: what was read, what was made of it, where the traffic and money go.
 * Warnings are not repeated here: the CLI prints them on stderr whatever the format.
 */
export function renderSummary(doc: GraphDocument): string {
  const out: string[] = [];
  const frames = doc.captures.reduce((s, c) => s + c.stats.frames, 0);
  const bytes = doc.captures.reduce((s, c) => s + c.stats.bytes, 0);
  const span = doc.timeRange === null ? '' : ` over ${doc.timeRange.seconds.toFixed(1)} s`;
  out.push(
    `sky-plan analyze: ${doc.captures.length} capture${doc.captures.length === 1 ? '' : 's'}, ${formatCount(frames)} frames (${formatBytes(bytes)})${span}`,
  );
  for (const c of doc.captures) {
    const s = c.stats;
    const reasons = Object.entries(s.reasons)
      .sort((a, b) => b[1] - a[1])
      .map(([r, n]) => `${r} ${formatCount(n)}`)
      .join(', ');
    out.push(
      `  ${c.path}${c.host === null ? '' : ` (host ${c.host})`}: ${c.format}, ${formatCount(s.ok)} ok, ${formatCount(s.truncated)} truncated, ${formatCount(s.malformed)} malformed, ${formatCount(s.unsupported)} unsupported${reasons === '' ? '' : ` [${reasons}]`}`,
    );
  }
  const kindText = (['vm', 'host', 'unknown', 'external'] as const)
    .map((kind) => [kind, doc.nodes.filter((n) => (n.kind ?? 'host') === kind).length] as const)
    .filter(([, n]) => n > 0)
    .map(([kind, n]) => `${n} ${kind}`)
    .join(', ');
  const sm = doc.summary;
  out.push(
    `  graph: ${sm.nodes} nodes (${kindText}), ${sm.edges} edges, ${formatBytes(sm.edgeBytes)} in ${formatCount(sm.edgePackets)} packets between nodes`,
  );
  if (sm.broadcastBytes + sm.multicastBytes > 0) {
    out.push(
      `  group traffic (per sender, not edges): broadcast ${formatBytes(sm.broadcastBytes)}, multicast ${formatBytes(sm.multicastBytes)}`,
    );
  }
  if (doc.dedup.packets > 0) {
    out.push(
      `  seen on two hypervisors and counted once: ${formatCount(doc.dedup.packets)} packets (${formatBytes(doc.dedup.bytes)})`,
    );
  }

  if (sm.cloudPairs.length > 0) {
    const priced = sm.egressCost !== undefined;
    out.push(
      '',
      `Traffic by cloud pair (sender → receiver); cross-cloud ${formatBytes(sm.crossCloudBytes)} (${formatPercent(sm.crossCloudBytes, sm.edgeBytes)}), internet ${formatBytes(sm.internetBytes)} (${formatPercent(sm.internetBytes, sm.edgeBytes)})`,
    );
    out.push(
      textTable(
        ['from', 'to', 'bytes', 'share', ...(priced ? ['egress', 'per month'] : [])],
        sm.cloudPairs.map((p) => [
          p.from,
          p.to,
          formatBytes(p.bytes),
          formatPercent(p.bytes, sm.edgeBytes),
          ...(priced
            ? [
                p.egressCost === undefined ? '-' : formatMoney(p.egressCost),
                p.egressCostPerMonth === undefined ? '-' : formatMoney(p.egressCostPerMonth),
              ]
            : []),
        ]),
      ),
    );
    if (priced) {
      const month =
        sm.egressCostPerMonth === undefined
          ? ''
          : `, ${formatMoney(sm.egressCostPerMonth)} per month at this rate`;
      out.push(`  egress cost of the captured traffic: ${formatMoney(sm.egressCost ?? 0)}${month}`);
    }
    // Without an inventory every node is unlocated, and there are no cloud pairs to set them apart from.
    if (sm.unlocatedBytes > 0)
      out.push(
        `  unlocated nodes (in no cloud of the inventory): ${formatBytes(sm.unlocatedBytes)} (${formatPercent(sm.unlocatedBytes, sm.edgeBytes)}), in no cloud pair`,
      );
  }

  if (sm.topEdges.length > 0) {
    out.push('', 'Top talkers');
    out.push(
      textTable(
        ['sender', 'receiver', 'bytes', 'share'],
        sm.topEdges.map((e) => [
          e.source,
          e.target,
          formatBytes(e.bytes),
          formatPercent(e.bytes, sm.edgeBytes),
        ]),
      ),
    );
  }
  if (doc.tunnels.length > 0) {
    out.push('', 'Tunnel overhead (outer endpoints are not VM edges)');
    out.push(
      textTable(
        ['kind', 'source', 'target', 'packets', 'bytes', 'overhead'],
        doc.tunnels
          .slice(0, TOP_TUNNELS)
          .map((t) => [
            t.kind,
            t.source,
            t.target,
            formatCount(t.packets),
            formatBytes(t.bytes),
            `${formatBytes(t.overheadBytes)} (${formatPercent(t.overheadBytes, t.bytes)})`,
          ]),
      ),
    );
    if (doc.tunnels.length > TOP_TUNNELS)
      out.push(`  … and ${doc.tunnels.length - TOP_TUNNELS} more endpoint pairs (see --json)`);
  }
  if (doc.patterns.communities.length > 0) {
    out.push(
      '',
      `Communities and their patterns (Louvain, modularity ${doc.patterns.modularity.toFixed(2)})`,
    );
    out.push(
      textTable(
        [
          'pattern',
          'confidence',
          'members',
          'bytes inside',
          'to/from external',
          'busiest phase',
          'latest phase',
        ],
        doc.patterns.communities.map((c) => {
          const shown = c.members.filter((m) => !c.control.includes(m));
          // Phase times from the first window's start, as the capture reads.
          const origin = doc.window?.first ?? 0;
          const phase = (p: (typeof c.phases)[number] | undefined) =>
            p === undefined
              ? '-'
              : `${p.pattern} ${(p.start - origin).toFixed(0)}-${(p.end - origin).toFixed(0)} s`;
          const busiest = [...c.phases].sort((x, y) => y.bytes - x.bytes)[0];
          return [
            c.pattern,
            c.confidence.toFixed(2),
            `${shown.slice(0, 4).join(', ')}${shown.length > 4 ? `, … (${shown.length})` : ''}${c.control.length > 0 ? ` + control: ${c.control.join(', ')}` : ''}`,
            formatBytes(c.bytes),
            formatBytes(c.externalBytes),
            phase(busiest),
            c.phases.length > 1 ? phase(c.phases.at(-1)) : '-',
          ];
        }),
      ),
    );
    const membership = doc.patterns.membership ?? [];
    if (membership.length > 0) {
      const origin = doc.window?.first ?? 0;
      const named = (id: number) => {
        const c = doc.patterns.communities.find((x) => x.id === id);
        return c === undefined ? `community ${id}` : `${c.pattern} (${c.members.slice(0, 2).join(', ')}, …)`;
      };
      out.push('', 'VMs whose traffic moved to another community');
      out.push(
        textTable(
          ['VM', 'from', 'to', 'at'],
          membership
            .slice(0, TOP_TUNNELS)
            .map((m) => [m.vm, named(m.from), named(m.to), `${(m.at - origin).toFixed(0)} s`]),
        ),
      );
    }
  }
  if (doc.mobility.length > 0) {
    const at = (t: number) => utcTime(t).replace('T', ' ').replace(/Z$/, '');
    const what = (e: GraphDocument['mobility'][number]) =>
      e.kind === 'host-change'
        ? `sends behind ${e.host} now, no longer behind ${e.from}`
        : `${e.kind === 'rarp' ? 'RARP announcement' : 'gratuitous ARP'}${e.frames > 1 ? ` ×${e.frames}` : ''}${e.host === null ? '' : ` on ${e.host}`}`;
    out.push('', 'VM mobility (live migrations seen in the capture)');
    out.push(
      textTable(
        ['time (UTC)', 'VM', 'MAC', 'sign'],
        doc.mobility.slice(0, TOP_TUNNELS).map((e) => [at(e.time), e.vm ?? '-', e.mac, what(e)]),
      ),
    );
    if (doc.mobility.length > TOP_TUNNELS)
      out.push(`  … and ${doc.mobility.length - TOP_TUNNELS} more (see --json)`);
  }
  return `${out.join('\n')}\n`;
}
