/**
 * Phases of a community over time: consecutive windows that keep one pattern and one volume level.
 *
 * The rule (README "analyze: patterns and mobility"):
 * - a window whose traffic is at most `idleShare` of the running phase's mean window is idle: it ends
 *   the phase, and the next busy window starts another;
 * - a window deviates when its own pattern (the community's shape in that window alone) differs from the
 *   phase's, or its bytes are `volumeFactor` times the phase's mean window or more, or that much less;
 * - `hold` deviating windows in a row start a new phase at the first of them (hysteresis: a lone odd
 *   window, noise or a retransmission burst, joins the phase it is in); so do fewer, when an idle gap
 *   or the end of the capture follows them (nothing comes after to contradict them);
 * - a first or last phase shorter than `hold` windows that touches its neighbour is merged into it: it is
 *   a window the capture (or the community's traffic) only partly covers;
 * - a phase whose mean window is at most `idleShare` of the busiest window is chatter (start-up, DNS,
 *   keep-alives between jobs), idle like a quiet window: it is no phase.
 */
export const PHASE_RULE = { hold: 2, volumeFactor: 4, idleShare: 0.01 } as const;

/** One window of a community: its bytes, and the pattern its traffic alone shows ('' when idle). */
export interface WindowShape {
  bytes: number;
  pattern: string;
}

/** Phases as [from, to) window indices, in order; idle windows belong to none. */
export function segmentPhases(windows: readonly WindowShape[]): [number, number][] {
  const { hold, volumeFactor, idleShare } = PHASE_RULE;
  const out: { from: number; to: number; afterGap: boolean }[] = [];
  let current: { from: number; pattern: string; sum: number; n: number } | undefined;
  let pending = 0;
  let gap = true;
  windows.forEach((w, k) => {
    if (current === undefined) {
      if (w.bytes > 0) current = { from: k, pattern: w.pattern, sum: w.bytes, n: 1 };
      return;
    }
    const mean = current.sum / current.n;
    if (w.bytes <= idleShare * mean) {
      close(k);
      current = undefined;
      gap = true;
      return;
    }
    const deviates =
      w.pattern !== current.pattern || w.bytes >= volumeFactor * mean || w.bytes * volumeFactor <= mean;
    if (!deviates) {
      for (let j = k - pending; j < k; j++) {
        current.sum += (windows[j] as WindowShape).bytes;
        current.n++;
      }
      pending = 0;
      current.sum += w.bytes;
      current.n++;
      return;
    }
    pending++;
    if (pending < hold) return;
    const from = k - pending + 1;
    out.push({ from: current.from, to: from, afterGap: gap });
    gap = false;
    let sum = 0;
    for (let j = from; j <= k; j++) sum += (windows[j] as WindowShape).bytes;
    current = { from, pattern: w.pattern, sum, n: pending };
    pending = 0;
  });
  if (current !== undefined) close(windows.length);
  // A partly covered first or last window, touching its neighbour, joins it.
  const merged: { from: number; to: number; afterGap: boolean }[] = [];
  for (const p of out) {
    const last = merged.at(-1);
    const touching = last !== undefined && !p.afterGap && last.to === p.from;
    const short = (q: { from: number; to: number }) => q.to - q.from < hold;
    if (touching && ((short(p) && p.to === windows.length) || (short(last) && last.from === 0)))
      last.to = p.to;
    else merged.push({ ...p });
  }
  const peak = windows.reduce((top, w) => Math.max(top, w.bytes), 0);
  const mean = (p: { from: number; to: number }) =>
    windows.slice(p.from, p.to).reduce((sum, w) => sum + w.bytes, 0) / (p.to - p.from);
  return merged.filter((p) => mean(p) > idleShare * peak).map((p) => [p.from, p.to]);

  /** Ends the current phase at window `end`; deviating windows just before it are a phase of their own. */
  function close(end: number): void {
    const phase = current as { from: number };
    if (pending > 0 && end - pending > phase.from) {
      out.push({ from: phase.from, to: end - pending, afterGap: gap });
      out.push({ from: end - pending, to: end, afterGap: false });
    } else out.push({ from: phase.from, to: end, afterGap: gap });
    pending = 0;
  }
}
