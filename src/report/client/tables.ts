import { formatBytes, formatMoney } from '../../text-format.js';
import type { ReportData } from '../report-data.js';
import { el, section } from './dom.js';

type Cell = Node | string;

const signed = (n: number) => (n > 0 ? `+${formatMoney(n)}` : formatMoney(n));

function table(header: Cell[], rows: Cell[][], id: string): HTMLTableElement {
  return el(
    'table',
    { id },
    el('thead', {}, el('tr', {}, ...header.map((h) => el('th', {}, h)))),
    el('tbody', {}, ...rows.map((r) => el('tr', {}, ...r.map((c) => el('td', {}, c))))),
  );
}

/** Sender cloud × receiver cloud: bytes and, where analyze had prices, the egress cost. */
export function cloudMatrix(data: ReportData): HTMLElement {
  const clouds = data.clouds.map((c) => c.name);
  const pair = new Map(data.cloudMatrix.map((p) => [`${p.from}\u0000${p.to}`, p]));
  const rows = clouds.map((from) => [
    el('strong', {}, from),
    ...clouds.map((to) => {
      const p = pair.get(`${from}\u0000${to}`);
      if (p === undefined) return '–';
      const cost = p.egressCost === null || from === to ? '' : ` · ${formatMoney(p.egressCost)}`;
      return el('span', { class: from === to ? 'muted' : 'cross' }, `${formatBytes(p.bytes)}${cost}`);
    }),
  ]);
  const share = data.totals.bytes === 0 ? 0 : (100 * data.totals.crossCloudBytes) / data.totals.bytes;
  return section(
    'cloud-matrix',
    'Traffic between clouds',
    el(
      'p',
      { class: 'muted' },
      `Rows send, columns receive. ${formatBytes(data.totals.crossCloudBytes)} of ${formatBytes(data.totals.bytes)} (${share.toFixed(1)}%) crosses a cloud boundary; the cost is the egress analyze priced for the captured traffic.`,
    ),
    table(['from \\ to', ...clouds], rows, 'cloud-matrix-table'),
  );
}

/** Each community's communication pattern, with its confidence and members. */
export function patternTable(data: ReportData): HTMLElement | null {
  if (data.patterns.length === 0) return null;
  const rows = data.patterns.map((p) => [
    `community ${p.community + 1}`,
    el('strong', {}, p.pattern),
    p.confidence.toFixed(2),
    formatBytes(p.bytes),
    `${p.members.filter((m) => !p.control.includes(m)).join(', ')}${p.control.length > 0 ? ` (control plane: ${p.control.join(', ')})` : ''}`,
  ]);
  return section(
    'patterns',
    'Communities and patterns',
    el(
      'p',
      { class: 'muted' },
      `Louvain communities (modularity ${data.communities.modularity.toFixed(2)}), each named by the shape of its traffic.`,
    ),
    table(['community', 'pattern', 'confidence', 'bytes', 'members'], rows, 'pattern-table'),
  );
}

/** Costs before and after, the placement side by side with the moves marked, and why each move. */
export function planView(data: ReportData, colour: (cloud: string) => string): HTMLElement | null {
  const plan = data.plan;
  if (plan === null) return null;
  const kinds = ['egress', 'internet', 'compute', 'migration', 'total'] as const;
  const costs = table(
    ['', 'before', 'after', 'change'],
    kinds.map((k) => [
      k,
      formatMoney(plan.before.cost[k]),
      formatMoney(plan.after.cost[k]),
      signed(plan.after.cost[k] - plan.before.cost[k]),
    ]),
    'cost-table',
  );
  const moved = new Set(plan.moves.map((m) => m.vm));
  const side = (title: string, placement: Record<string, string>) => {
    const byCloud = new Map<string, string[]>();
    for (const [vm, cloud] of Object.entries(placement))
      byCloud.set(cloud, [...(byCloud.get(cloud) ?? []), vm]);
    return el(
      'div',
      { class: 'placement' },
      el('h3', {}, title),
      ...[...byCloud]
        .sort(([a], [b]) => a.localeCompare(b))
        .map(([cloud, vms]) =>
          el(
            'div',
            { class: 'cloud-box', style: `border-color: ${colour(cloud)}` },
            el('div', { class: 'cloud-name' }, `${cloud} (${vms.length})`),
            ...vms.sort().map((vm) => el('span', { class: moved.has(vm) ? 'vm moved' : 'vm' }, vm)),
          ),
        ),
    );
  };
  const peers = (list: { peer: string; bytesPerSecond: number }[]) =>
    list.map((p) => `${p.peer} (${formatBytes(p.bytesPerSecond)}/s)`).join(', ');
  const moves = table(
    ['VM', 'move', 'WAN bytes', 'time', 'cost', 'why'],
    plan.moves.map((m) => [
      m.vm,
      `${m.from} → ${m.to}`,
      formatBytes(m.wanBytes),
      `${m.seconds.toFixed(0)} s`,
      formatMoney(m.cost),
      [
        m.bringsTogether.length > 0 ? `joins ${peers(m.bringsTogether)}` : '',
        m.separates.length > 0 ? `leaves ${peers(m.separates)}` : '',
      ]
        .filter((s) => s !== '')
        .join('; ') || 'cheaper compute or capacity',
    ]),
    'moves-table',
  );
  const horizon = `${(plan.horizonSeconds / 86400).toFixed(0)}-day horizon`;
  const solver = `${plan.solver.name}${plan.solver.optimal ? ', proven optimal' : plan.solver.gap === null ? '' : `, gap ${(100 * plan.solver.gap).toFixed(2)}%`}`;
  return section(
    'plan-view',
    'Plan',
    el('p', { class: 'muted' }, `${plan.moves.length} moves; ${horizon}; solver ${solver}.`),
    costs,
    el('div', { class: 'side-by-side' }, side('Before', plan.current), side('After', plan.placement)),
    plan.moves.length === 0 ? el('p', {}, 'No move pays off.') : moves,
  );
}
