import { scaleSequentialLog } from 'd3-scale';
import { interpolateViridis } from 'd3-scale-chromatic';
import { formatBytes } from '../../text-format.js';
import type { ReportData } from '../report-data.js';
import { el, section, svg, type Tooltip } from './dom.js';
import { type Filtered, passes } from './filters.js';

const SIZE = 640;
/** Room on the left and at the top for the row and column names. */
const NAMES = 96;
/** A name at most every this many units: denser rows have every k-th row named. */
const NAME_PITCH = 11;

/**
 * The sender × receiver byte matrix, rows and columns ordered by cloud then community, on a log
 * viridis scale (legible in grey and to colour-blind readers). Only non-zero cells are drawn.
 */
export function heatmap(
  data: ReportData,
  colour: (cloud: string) => string,
  tooltip: Tooltip,
): { element: HTMLElement; filter: Filtered } {
  const { labels, clouds, cells } = data.heatmap;
  const n = Math.max(1, labels.length);
  const margin = 8;
  const cell = (SIZE - margin) / n;
  const values = cells.map((c) => c[2]).filter((b) => b > 0);
  const lo = Math.max(1, Math.min(...values, 1));
  const hi = Math.max(lo * 10, ...values);
  const fill = scaleSequentialLog(interpolateViridis).domain([lo, hi]);
  const root = svg('svg', {
    viewBox: `0 0 ${SIZE + NAMES} ${SIZE + NAMES}`,
    id: 'heatmap',
    role: 'img',
    'aria-label': 'traffic heatmap',
  });
  root.append(...axisNames(labels, cell, margin));
  const matrix = svg('g', { transform: `translate(${NAMES} ${NAMES})` });
  root.append(matrix);
  // A strip on the left and top says which cloud each row and column is in.
  labels.forEach((_, i) => {
    const fillColour = colour(clouds[i] as string);
    matrix.append(
      svg('rect', {
        class: 'cloud-strip',
        x: 0,
        y: margin + i * cell,
        width: margin - 2,
        height: cell,
        fill: fillColour,
      }),
      svg('rect', {
        class: 'cloud-strip',
        x: margin + i * cell,
        y: 0,
        width: cell,
        height: margin - 2,
        fill: fillColour,
      }),
    );
  });
  const side = Math.max(cell, 0.6).toFixed(2);
  const rects = cells.map(([row, col, bytes]) => {
    const r = svg('rect', {
      class: 'cell',
      x: (margin + col * cell).toFixed(2),
      y: (margin + row * cell).toFixed(2),
      width: side,
      height: side,
      fill: fill(Math.max(lo, bytes)),
    });
    r.addEventListener('mousemove', (event) =>
      tooltip.show(event, [`${labels[row]} → ${labels[col]}`, formatBytes(bytes)]),
    );
    r.addEventListener('mouseleave', () => tooltip.hide());
    matrix.append(r);
    return r;
  });
  // Cloud boundaries.
  for (let i = 1; i < labels.length; i++) {
    if (clouds[i] === clouds[i - 1]) continue;
    const at = margin + i * cell;
    matrix.append(
      svg('line', { class: 'boundary', x1: margin, y1: at, x2: SIZE, y2: at }),
      svg('line', { class: 'boundary', x1: at, y1: margin, x2: at, y2: SIZE }),
    );
  }
  const stops = Array.from({ length: 11 }, (_, i) => fill(lo * (hi / lo) ** (i / 10)));
  const legend = el(
    'div',
    { class: 'legend' },
    el('span', {}, formatBytes(lo)),
    el('span', { class: 'ramp', style: `background: linear-gradient(to right, ${stops.join(', ')})` }),
    el('span', {}, formatBytes(hi)),
    el('span', { class: 'muted' }, ' (log scale; empty: no traffic)'),
  );
  const note = data.heatmap.grouped
    ? `One row per community within a cloud (${labels.length} rows for ${data.totals.nodes} nodes). Rows send, columns receive.`
    : `${labels.length} × ${labels.length}, ${cells.length} non-zero cells. Rows send, columns receive; ordered by cloud, then community.`;
  const patternOf = new Map(data.patterns.map((p) => [p.community, p.pattern]));
  const seconds = data.timeRange?.seconds ?? 1;
  const filter: Filtered = (f) => {
    const shown = labels.map((_, i) =>
      passes(f, clouds[i] as string, data.heatmap.communities[i] as number, patternOf),
    );
    cells.forEach(([row, col, bytes], i) => {
      rects[i]?.classList.toggle('filtered', !shown[row] || !shown[col] || bytes / seconds < f.minRate);
    });
  };
  const element = section(
    'heatmap-view',
    'Traffic heatmap',
    el('p', { class: 'muted' }, note),
    legend,
    el('div', { class: 'frame' }, root),
  );
  return { element, filter };
}

/** Row names on the left, column names rotated above, every k-th one when rows are too dense to name each. */
function axisNames(labels: string[], cell: number, margin: number): SVGElement[] {
  const every = Math.max(1, Math.ceil(NAME_PITCH / cell));
  const short = (name: string) => (name.length > 16 ? `${name.slice(0, 15)}…` : name);
  const out: SVGElement[] = [];
  for (let i = 0; i < labels.length; i += every) {
    const at = NAMES + margin + (i + 0.5) * cell;
    const row = svg('text', {
      class: 'row-name',
      x: NAMES - 4,
      y: (at + 3).toFixed(1),
      'text-anchor': 'end',
    });
    const column = svg('text', {
      class: 'column-name',
      x: (at + 3).toFixed(1),
      y: NAMES - 4,
      transform: `rotate(-90 ${(at + 3).toFixed(1)} ${NAMES - 4})`,
    });
    row.textContent = short(labels[i] as string);
    column.textContent = short(labels[i] as string);
    out.push(row, column);
  }
  const title = svg('text', { class: 'axis-title', x: 2, y: 12 });
  title.textContent = `rows send, columns receive${every > 1 ? ` (one in ${every} named)` : ''}`;
  out.push(title);
  return out;
}
