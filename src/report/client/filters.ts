import type { ReportData } from '../report-data.js';
import { el } from './dom.js';

/** What the filter bar selects; '' and -1 select all. */
export interface Filter {
  cloud: string;
  community: number;
  pattern: string;
  /** Edges below this many bytes per second are hidden. */
  minRate: number;
}

/** A view that hides what the filter leaves out. */
export type Filtered = (f: Filter) => void;

/** Whether a node (or group) of `cloud` and `community` passes the filter. */
export function passes(f: Filter, cloud: string, community: number, patternOf: Map<number, string>): boolean {
  return (
    (f.cloud === '' || cloud === f.cloud) &&
    (f.community < 0 || community === f.community) &&
    (f.pattern === '' || patternOf.get(community) === f.pattern)
  );
}

/**
 * The bar above the views: cloud, community, pattern and a minimum edge rate; every change is applied
 * to each view at once (the graph, the heatmap, the tables).
 */
export function filterBar(data: ReportData, views: Filtered[]): HTMLElement {
  const select = (id: string, label: string, options: [string, string][]) =>
    el(
      'select',
      { id, 'aria-label': label },
      el('option', { value: '' }, `every ${label}`),
      ...options.map(([value, text]) => el('option', { value }, text)),
    );
  const cloud = select(
    'filter-cloud',
    'cloud',
    data.clouds.map((c) => [c.name, c.name]),
  );
  const community = select(
    'filter-community',
    'community',
    Array.from({ length: data.communities.count }, (_, i) => [String(i), `community ${i + 1}`]),
  );
  const pattern = select(
    'filter-pattern',
    'pattern',
    [...new Set(data.patterns.map((p) => p.pattern))].sort().map((p) => [p, p]),
  );
  const rate = el('input', {
    id: 'filter-rate',
    type: 'number',
    min: '0',
    step: 'any',
    value: '0',
    'aria-label': 'minimum edge rate, bytes per second',
  });
  const apply = () => {
    const f: Filter = {
      cloud: cloud.value,
      community: community.value === '' ? -1 : Number(community.value),
      pattern: pattern.value,
      minRate: Math.max(0, Number(rate.value) || 0),
    };
    for (const view of views) view(f);
  };
  for (const control of [cloud, community, pattern, rate]) control.addEventListener('input', apply);
  return el(
    'div',
    { class: 'controls', id: 'filters' },
    'show ',
    cloud,
    community,
    pattern,
    el('label', {}, 'edges of at least ', rate, ' B/s'),
  );
}
