import type { ReportData } from './report-data.js';

const STYLE = `
:root { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: #1a1a1a; }
body { margin: 0 auto; max-width: 1400px; padding: 16px 24px; }
h1 { font-size: 1.5em; margin: 0.2em 0; } h2 { font-size: 1.2em; margin: 1.4em 0 0.4em; } h3 { margin: 0.3em 0; font-size: 1em; }
.muted { color: #555; }
section { break-inside: avoid; }
main { display: grid; grid-template-columns: repeat(auto-fit, minmax(min(100%, 560px), 1fr)); column-gap: 32px; }
main > h1, main > p, #plan-view, #cloud-matrix, #patterns { grid-column: 1 / -1; }
.frame { border: 1px solid #ccc; background: #fff; }
svg { display: block; width: 100%; height: auto; max-height: 80vh; }
#graph { cursor: grab; }
.edge { stroke: #777; stroke-opacity: 0.45; }
.node { stroke: #fff; stroke-width: 0.8; }
.node:hover, .node.match { stroke: #000; stroke-width: 2.5; }
.node.dim { opacity: 0.15; }
.arrow-head { fill: #777; }
.filtered { display: none; }
.node.moved { stroke: #000; stroke-width: 3; }
.edge.new-cross { stroke: #d62728; stroke-opacity: 0.9; }
.edge.joined { stroke-opacity: 0.1; }
.busiest { fill: #fde0c5; }
.rate-line { stroke: #d62728; stroke-width: 1.5; }
.label { display: none; font-size: var(--label-size, 9px); fill: #222; pointer-events: none; paint-order: stroke; stroke: #fff; stroke-width: calc(var(--label-size, 9px) / 4); }
.label.top, .zoomed .label { display: inline; }
.legend-node { fill: #999; stroke: #fff; }
.row-name, .column-name { font-size: 9px; fill: #333; }
.axis-title { font-size: 10px; fill: #666; }
th.sortable { cursor: pointer; user-select: none; }
th[aria-sort=ascending]::after { content: ' ▲'; }
th[aria-sort=descending]::after { content: ' ▼'; }
.cell:hover { stroke: #000; stroke-width: 0.5; }
.boundary { stroke: #000; stroke-width: 0.8; }
.controls { display: flex; gap: 16px; align-items: center; flex-wrap: wrap; }
.slider input { vertical-align: middle; width: 220px; }
.legend { display: flex; align-items: center; gap: 8px; margin: 4px 0; }
.ramp { display: inline-block; width: 200px; height: 12px; border: 1px solid #999; }
.cloud-legend span { margin-right: 16px; white-space: nowrap; }
.cloud-legend i { display: inline-block; width: 12px; height: 12px; margin-right: 4px; border-radius: 2px; vertical-align: -1px; }
table { border-collapse: collapse; margin: 6px 0 12px; }
th, td { border-bottom: 1px solid #ddd; padding: 3px 10px; text-align: right; vertical-align: top; }
th:first-child, td:first-child, #moves-table td:last-child { text-align: left; }
.cross { font-weight: 600; }
.side-by-side { display: grid; grid-template-columns: 1fr 1fr; gap: 24px; }
.cloud-box { border: 2px solid; border-radius: 6px; padding: 6px; margin: 6px 0; }
.cloud-name { font-weight: 600; margin-bottom: 4px; }
.vm { display: inline-block; padding: 1px 6px; margin: 2px; border-radius: 4px; background: #eee; font-size: 0.9em; }
.vm.moved { background: #000; color: #fff; font-weight: 600; }
#tooltip { position: absolute; display: none; pointer-events: none; background: #fff; border: 1px solid #888; border-radius: 4px; padding: 6px 8px; font-size: 12px; box-shadow: 0 2px 6px rgba(0,0,0,.2); max-width: 360px; }
@media print {
  body { max-width: none; padding: 0; }
  .controls, #tooltip { display: none !important; }
  main { display: block; }
  svg { max-height: none; page-break-inside: avoid; }
  .vm.moved { border: 1.5px solid #000; }
}
`;

/**
 * The whole report as one HTML file: styles, the browser bundle and the data are inlined, so it opens
 * from file:// with no network request.
 */
export function renderHtml(data: ReportData, clientScript: string): string {
  // JSON inside <script> must not close the element early.
  const json = JSON.stringify(data).replace(/</g, '\\u003c');
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src data:">
<title>${escapeHtml(data.title)}</title>
<style>${STYLE}</style>
</head>
<body>
<main id="report"></main>
<script type="application/json" id="report-data">${json}</script>
<script>${clientScript.replace(/<\/script/gi, '<\\/script')}</script>
</body>
</html>
`;
}

function escapeHtml(s: string): string {
  return s.replace(/[<>&"]/g, (c) => `&#${c.charCodeAt(0)};`);
}
