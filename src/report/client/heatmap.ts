import { scaleSequentialLog } from 'd3-scale';
import { interpolateViridis } from 'd3-scale-chromatic';
import { formatBytes } from '../../cli/text-table.js';
import type { ReportData } from '../report-data.js';
import { el, section, type Tooltip } from './dom.js';

const SIZE = 640;
const SVG = 'http://www.w3.org/2000/svg';

/**
 * The sender × receiver byte matrix, rows and columns ordered by cloud then community, on a log
 * viridis scale (legible in grey and to colour-blind readers). Only non-zero cells are drawn.
 */
export function heatmap(data: ReportData, colour: (cloud: string) => string, tooltip: Tooltip): HTMLElement {
  const { labels, clouds, cells } = data.heatmap;
  const n = Math.max(1, labels.length);
  const margin = 8;
  const cell = (SIZE - margin) / n;
  const values = cells.map((c) => c[2]).filter((b) => b > 0);
  const lo = Math.max(1, Math.min(...values, 1));
  const hi = Math.max(lo * 10, ...values);
  const fill = scaleSequentialLog(interpolateViridis).domain([lo, hi]);
  const svg = document.createElementNS(SVG, 'svg');
  svg.setAttribute('viewBox', `0 0 ${SIZE} ${SIZE}`);
  svg.setAttribute('id', 'heatmap');
  svg.setAttribute('role', 'img');
  svg.setAttribute('aria-label', 'traffic heatmap');
  // A strip on the left and top says which cloud each row and column is in.
  labels.forEach((_, i) => {
    for (const [x, y, w, h] of [
      [0, margin + i * cell, margin - 2, cell],
      [margin + i * cell, 0, cell, margin - 2],
    ] as const) {
      const r = document.createElementNS(SVG, 'rect');
      r.setAttribute('class', 'cloud-strip');
      r.setAttribute('x', String(x));
      r.setAttribute('y', String(y));
      r.setAttribute('width', String(w));
      r.setAttribute('height', String(h));
      r.setAttribute('fill', colour(clouds[i] as string));
      svg.append(r);
    }
  });
  for (const [row, col, bytes] of cells) {
    const r = document.createElementNS(SVG, 'rect');
    r.setAttribute('class', 'cell');
    r.setAttribute('x', (margin + col * cell).toFixed(2));
    r.setAttribute('y', (margin + row * cell).toFixed(2));
    r.setAttribute('width', Math.max(cell, 0.6).toFixed(2));
    r.setAttribute('height', Math.max(cell, 0.6).toFixed(2));
    r.setAttribute('fill', fill(Math.max(lo, bytes)));
    r.addEventListener('mousemove', (event) =>
      tooltip.show(event, [`${labels[row]} → ${labels[col]}`, formatBytes(bytes)]),
    );
    r.addEventListener('mouseleave', () => tooltip.hide());
    svg.append(r);
  }
  // Cloud boundaries.
  for (let i = 1; i < labels.length; i++) {
    if (clouds[i] === clouds[i - 1]) continue;
    for (const [x1, y1, x2, y2] of [
      [margin, margin + i * cell, SIZE, margin + i * cell],
      [margin + i * cell, margin, margin + i * cell, SIZE],
    ]) {
      const line = document.createElementNS(SVG, 'line');
      line.setAttribute('class', 'boundary');
      line.setAttribute('x1', String(x1));
      line.setAttribute('y1', String(y1));
      line.setAttribute('x2', String(x2));
      line.setAttribute('y2', String(y2));
      svg.append(line);
    }
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
  return section(
    'heatmap-view',
    'Traffic heatmap',
    el('p', { class: 'muted' }, note),
    legend,
    el('div', { class: 'frame' }, svg),
  );
}
