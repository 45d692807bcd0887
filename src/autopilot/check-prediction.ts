import type { CloudPairRate } from '../plan/plan-document.js';

/** What a round of moves predicted for the cross-cloud traffic, once they were done. */
export interface Prediction {
  round: number;
  /** When the last of its moves finished: only windows after it measure the new placement. */
  at: number;
  pairs: CloudPairRate[];
}

export interface PredictionCheck {
  round: number;
  predictedBytesPerSecond: number;
  observedBytesPerSecond: number;
  /** |observed - predicted| over the larger of the two (0 when both are 0). */
  error: number;
  pairs: { from: string; to: string; predicted: number; observed: number }[];
}

/** The prediction against the cross-cloud traffic measured after the moves, per cloud pair and in all. */
export function checkPrediction(p: Prediction, observed: CloudPairRate[]): PredictionCheck {
  const key = (x: CloudPairRate) => `${x.from}\u0000${x.to}`;
  const pairs = new Map<string, { from: string; to: string; predicted: number; observed: number }>();
  for (const x of p.pairs)
    pairs.set(key(x), { from: x.from, to: x.to, predicted: x.bytesPerSecond, observed: 0 });
  for (const x of observed) {
    const row = pairs.get(key(x)) ?? { from: x.from, to: x.to, predicted: 0, observed: 0 };
    row.observed = x.bytesPerSecond;
    pairs.set(key(x), row);
  }
  const rows = [...pairs.values()].sort((a, b) => b.predicted + b.observed - a.predicted - a.observed);
  const predicted = rows.reduce((s, r) => s + r.predicted, 0);
  const seen = rows.reduce((s, r) => s + r.observed, 0);
  const larger = Math.max(predicted, seen);
  return {
    round: p.round,
    predictedBytesPerSecond: predicted,
    observedBytesPerSecond: seen,
    error: larger === 0 ? 0 : Math.abs(seen - predicted) / larger,
    pairs: rows,
  };
}
