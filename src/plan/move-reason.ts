import { formatBytes } from '../text-format.js';
import type { PlanMove } from './plan-document.js';

/**
 * Why a move is in the plan, in one text that the CLI and the report both show: the peers it joins
 * (the heaviest two) and leaves (the heaviest), with their traffic; else what else made it worth it.
 */
export function moveReason(m: Pick<PlanMove, 'bringsTogether' | 'separates'>): string {
  const peers = (list: PlanMove['bringsTogether']) =>
    list.map((x) => `${x.peer} ${formatBytes(x.bytesPerSecond)}/s`).join(', ');
  const parts = [
    m.bringsTogether.length > 0 ? `joins ${peers(m.bringsTogether.slice(0, 2))}` : '',
    m.separates.length > 0 ? `leaves ${peers(m.separates.slice(0, 1))}` : '',
  ].filter((p) => p !== '');
  return parts.length > 0 ? parts.join('; ') : 'cheaper compute, egress or capacity there';
}
