import { formatBytes, formatMoney } from '../../text-format.js';
import type { ReportData } from '../report-data.js';
import { el, section, svg } from './dom.js';
import { type Filter, type Filtered, passes } from './filters.js';

type Cell = Node | string;
/** A cell shown as `show` and sorted by `value` (bytes, dollars, seconds: not their text). */
type Sorted = { show: Cell; value: number };

const signed = (n: number) => (n > 0 ? `+${formatMoney(n)}` : formatMoney(n));
const sorted = (show: Cell, value: number): Sorted => ({ show, value });

/**
 * A table whose rows sort by a column when its header is clicked (again: the other way); `keys` name
 * the rows (data-key) for the filters.
 */
function table(header: Cell[], rows: (Cell | Sorted)[][], id: string, keys: string[] = []): HTMLTableElement {
  const body = el(
    'tbody',
    {},
    ...rows.map((r, i) => el('tr', keys[i] === undefined ? {} : { 'data-key': keys[i] }, ...r.map(cell))),
  );
  const heads = header.map((h) => el('th', { class: 'sortable', tabindex: '0', 'aria-sort': 'none' }, h));
  heads.forEach((th, column) => {
    const sort = () => {
      const descending = th.getAttribute('aria-sort') === 'ascending';
      for (const other of heads) other.setAttribute('aria-sort', 'none');
      th.setAttribute('aria-sort', descending ? 'descending' : 'ascending');
      const key = (row: HTMLTableRowElement) => row.cells[column] as HTMLTableCellElement;
      const ordered = Array.from(body.rows).sort((a, b) => {
        const [x, y] = [key(a), key(b)];
        const order =
          x.dataset.value !== undefined && y.dataset.value !== undefined
            ? Number(x.dataset.value) - Number(y.dataset.value)
            : (x.textContent ?? '').localeCompare(y.textContent ?? '', undefined, { numeric: true });
        return descending ? -order : order;
      });
      body.append(...ordered);
    };
    th.addEventListener('click', sort);
    th.addEventListener('keydown', (event) => {
      if (event.key === 'Enter' || event.key === ' ') sort();
    });
  });
  return el('table', { id }, el('thead', {}, el('tr', {}, ...heads)), body);
}

function cell(c: Cell | Sorted): HTMLTableCellElement {
  if (typeof c === 'string' || c instanceof Node) return el('td', {}, c);
  return el('td', { 'data-value': String(c.value) }, c.show);
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
  const t = data.totals;
  const share = (x: number) => `${(t.bytes === 0 ? 0 : (100 * x) / t.bytes).toFixed(1)}%`;
  const unlocated =
    t.unlocatedBytes > 0
      ? ` Unlocated nodes (in no cloud of the inventory) carry ${formatBytes(t.unlocatedBytes)} (${share(t.unlocatedBytes)}), in neither total.`
      : '';
  return section(
    'cloud-matrix',
    'Traffic between clouds',
    el(
      'p',
      { class: 'muted' },
      `Rows send, columns receive. Cross-cloud: ${formatBytes(t.crossCloudBytes)} of ${formatBytes(t.bytes)} (${share(t.crossCloudBytes)}); internet: ${formatBytes(t.internetBytes)} (${share(t.internetBytes)}).${unlocated} The cost is the egress analyze priced for the captured traffic.`,
    ),
    table(['from \\ to', ...clouds], rows, 'cloud-matrix-table'),
  );
}

/** Each community's communication pattern, with its confidence and members. */
export function patternTable(data: ReportData): { element: HTMLElement; filter: Filtered } | null {
  if (data.patterns.length === 0) return null;
  const rows = data.patterns.map((p) => [
    `community ${p.community + 1}`,
    el('strong', {}, p.pattern),
    sorted(p.confidence.toFixed(2), p.confidence),
    sorted(formatBytes(p.bytes), p.bytes),
    sorted(formatBytes(p.externalBytes), p.externalBytes),
    `${p.members.filter((m) => !p.control.includes(m)).join(', ')}${p.control.length > 0 ? ` (control plane: ${p.control.join(', ')})` : ''}`,
  ]);
  const element = section(
    'patterns',
    'Communities and patterns',
    el(
      'p',
      { class: 'muted' },
      `Louvain communities (modularity ${data.communities.modularity.toFixed(2)}), each named by the shape of its traffic.`,
    ),
    table(
      ['community', 'pattern', 'confidence', 'bytes inside', 'to/from external', 'members'],
      rows,
      'pattern-table',
      data.patterns.map((p) => String(p.community)),
    ),
    ...phaseTimeline(data),
  );
  const byCommunity = new Map(data.patterns.map((p) => [String(p.community), p]));
  const filter = rowFilter(element, '#pattern-table', (key) => {
    const p = byCommunity.get(key);
    return (f) =>
      p !== undefined &&
      (f.community < 0 || p.community === f.community) &&
      (f.pattern === '' || p.pattern === f.pattern);
  });
  return { element, filter };
}

/** Hides the rows of a table the filter leaves out; `rule(key)` says which a row's filter keeps. */
function rowFilter(
  root: HTMLElement,
  selector: string,
  rule: (key: string) => (f: Filter) => boolean,
): Filtered {
  const rows = Array.from(root.querySelectorAll<HTMLTableRowElement>(`${selector} tbody tr`));
  const keeps = rows.map((r) => rule(r.dataset.key ?? ''));
  return (f) => {
    rows.forEach((r, i) => {
      r.classList.toggle('filtered', !keeps[i]?.(f));
    });
  };
}

const PATTERN_COLOURS: Record<string, string> = {
  'all-to-all': '#d62728',
  'master-worker': '#1f77b4',
  ring: '#2ca02c',
  'stencil-2d': '#9467bd',
  pipeline: '#8c564b',
  shuffle: '#ff7f0e',
  'client-server': '#17becf',
};

/** Each community's phases on one time axis: a row per community, a bar per phase in its pattern's colour. */
function phaseTimeline(data: ReportData): Element[] {
  const rows = data.patterns.filter((p) => p.phases.length > 0);
  const starts = rows.flatMap((p) => p.phases.map((x) => x.start));
  const ends = rows.flatMap((p) => p.phases.map((x) => x.end));
  if (rows.length === 0) return [];
  const [first, last] = [Math.min(...starts), Math.max(...ends)];
  const [width, rowHeight, labelWidth] = [900, 22, 110];
  const x = (t: number) => labelWidth + ((t - first) / Math.max(1, last - first)) * (width - labelWidth - 10);
  const chart = svg('svg', { id: 'phase-timeline', viewBox: `0 0 ${width} ${rows.length * rowHeight + 24}` });
  rows.forEach((p, i) => {
    const y = i * rowHeight;
    const label = svg('text', { x: 4, y: y + 15, 'font-size': 12 });
    label.textContent = `community ${p.community + 1}`;
    chart.append(label);
    for (const phase of p.phases) {
      const [x0, x1] = [x(phase.start), x(phase.end)];
      const bar = svg('rect', {
        class: 'phase',
        x: x0.toFixed(1),
        y: y + 3,
        width: Math.max(1, x1 - x0).toFixed(1),
        height: rowHeight - 6,
        fill: PATTERN_COLOURS[phase.pattern] ?? '#bbbbbb',
      });
      const title = svg('title');
      title.textContent = `${phase.pattern}, ${(phase.start - first).toFixed(0)}-${(phase.end - first).toFixed(0)} s, ${formatBytes(phase.bytes)}`;
      bar.append(title);
      chart.append(bar);
      if (x1 - x0 > 8 * phase.pattern.length) {
        const name = svg('text', { x: (x0 + 4).toFixed(1), y: y + 15, 'font-size': 11, fill: '#fff' });
        name.textContent = phase.pattern;
        chart.append(name);
      }
    }
  });
  const axis = svg('text', { x: labelWidth, y: rows.length * rowHeight + 16, 'font-size': 11 });
  axis.textContent = `0 s … ${(last - first).toFixed(0)} s: each community's phases (pattern over time)`;
  chart.append(axis);
  return [el('h3', {}, 'Phases over time'), el('div', { class: 'frame' }, chart)];
}

/** Moves the table lists at most, in the plan's order: a page of thousands of rows loads and filters slowly. */
const TABLE_MOVES = 1000;

/** VM names a cloud's box lists at most: thousands of names draw slowly and read as a wall. */
const BOX_VMS = 200;

/** The names a box shows: the moved VMs first, then the others, in name order, up to BOX_VMS. */
function shownVms(vms: string[], moved: Set<string>): string[] {
  const sorted = [...vms].sort();
  return [...sorted.filter((vm) => moved.has(vm)), ...sorted.filter((vm) => !moved.has(vm))].slice(
    0,
    BOX_VMS,
  );
}

/** Costs before and after, the placement side by side with the moves marked, and why each move. */
export function planView(
  data: ReportData,
  colour: (cloud: string) => string,
): { element: HTMLElement; filter: Filtered } | null {
  const plan = data.plan;
  if (plan === null) return null;
  const kinds = ['egress', 'internet', 'compute', 'migration', 'total'] as const;
  const costs = table(
    ['', 'before', 'after', 'change'],
    kinds.map((k) => [
      k,
      sorted(formatMoney(plan.before.cost[k]), plan.before.cost[k]),
      sorted(formatMoney(plan.after.cost[k]), plan.after.cost[k]),
      sorted(signed(plan.after.cost[k] - plan.before.cost[k]), plan.after.cost[k] - plan.before.cost[k]),
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
            ...shownVms(vms, moved).map((vm) => el('span', { class: moved.has(vm) ? 'vm moved' : 'vm' }, vm)),
            ...(vms.length > BOX_VMS
              ? [el('span', { class: 'muted' }, ` and ${vms.length - BOX_VMS} more`)]
              : []),
          ),
        ),
    );
  };
  const listed = plan.moves.slice(0, TABLE_MOVES);
  const moves = table(
    ['VM', 'move', 'WAN bytes', 'time', 'cost', 'why'],
    listed.map((m) => [
      m.vm,
      `${m.from} → ${m.to}`,
      sorted(formatBytes(m.wanBytes), m.wanBytes),
      sorted(`${m.seconds.toFixed(0)} s`, m.seconds),
      sorted(formatMoney(m.cost), m.cost),
      m.reason,
    ]),
    'moves-table',
    listed.map((m) => m.vm),
  );
  const more =
    plan.moves.length > listed.length
      ? [
          el(
            'p',
            { class: 'muted' },
            `The first ${listed.length} of ${plan.moves.length} moves; the plan JSON has them all.`,
          ),
        ]
      : [];
  const horizon = `${(plan.horizonSeconds / 86400).toFixed(0)}-day horizon`;
  const solver = `${plan.solver.name}${plan.solver.optimal ? ', proven optimal' : plan.solver.gap === null ? '' : `, gap ${(100 * plan.solver.gap).toFixed(2)}%`}`;
  const element = section(
    'plan-view',
    'Plan',
    el('p', { class: 'muted' }, `${plan.moves.length} moves; ${horizon}; solver ${solver}.`),
    costs,
    el('div', { class: 'side-by-side' }, side('Before', plan.current), side('After', plan.placement)),
    plan.moves.length === 0 ? el('p', {}, 'No move pays off.') : moves,
    ...more,
  );
  // A move passes when its VM does, in the cloud it leaves or the one it goes to.
  const patternOf = new Map(data.patterns.map((p) => [p.community, p.pattern]));
  const node = new Map(data.graph.nodes.map((n) => [n.id, n]));
  const byVm = new Map(plan.moves.map((m) => [m.vm, m]));
  const filter = rowFilter(element, '#moves-table', (vm) => {
    const m = byVm.get(vm);
    const community = node.get(vm)?.community ?? -1;
    return (f) =>
      m !== undefined && (passes(f, m.from, community, patternOf) || passes(f, m.to, community, patternOf));
  });
  return { element, filter };
}

/** Cross-cloud bytes per second, window by window, with the busiest stretch shaded and named. */
export function crossCloudTimeline(data: ReportData): HTMLElement | null {
  const t = data.crossCloudTimeline;
  if (t === null) return null;
  const [width, height, left, bottom] = [900, 160, 70, 20];
  const top = Math.max(...t.rates, 1);
  const x = (i: number) => left + (i / t.rates.length) * (width - left - 10);
  const y = (rate: number) => height - bottom - (rate / top) * (height - bottom - 10);
  const chart = svg('svg', { id: 'cross-cloud-timeline', viewBox: `0 0 ${width} ${height}` });
  const [from, to] = t.busiest;
  const shade = svg('rect', {
    class: 'busiest',
    x: x(from).toFixed(1),
    y: 4,
    width: (x(to + 1) - x(from)).toFixed(1),
    height: height - bottom - 4,
  });
  const tip = svg('title');
  tip.textContent = `busiest: ${((from * t.seconds) | 0).toString()}-${(((to + 1) * t.seconds) | 0).toString()} s`;
  shade.append(tip);
  chart.append(shade);
  const points = t.rates.map((r, i) => `${x(i + 0.5).toFixed(1)},${y(r).toFixed(1)}`).join(' ');
  chart.append(svg('polyline', { class: 'rate-line', points, fill: 'none' }));
  const text = (px: number, py: number, content: string, anchor = 'start') => {
    const label = svg('text', { x: px, y: py, 'font-size': 11, 'text-anchor': anchor });
    label.textContent = content;
    chart.append(label);
  };
  text(left - 4, 14, `${formatBytes(top)}/s`, 'end');
  text(left - 4, height - bottom, '0', 'end');
  text(left, height - 4, '0 s');
  text(width - 10, height - 4, `${(t.rates.length * t.seconds).toFixed(0)} s`, 'end');
  return section(
    'cross-cloud-view',
    'Cross-cloud traffic over time',
    el(
      'p',
      { class: 'muted', id: 'busiest-phase' },
      `Per ${t.seconds} s window, the internet left out. Busiest: ${(from * t.seconds).toFixed(0)}-${((to + 1) * t.seconds).toFixed(0)} s (shaded), peaking at ${formatBytes(Math.max(...t.rates))}/s.`,
    ),
    el('div', { class: 'frame' }, chart),
  );
}
