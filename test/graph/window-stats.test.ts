import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { windowRates } from '../../src/graph/window-stats.js';

describe('window rates', () => {
  it('takes peak over busy windows and p95 over every window, idle ones included', () => {
    // 100 windows of 10 s: 4 busy ones. p95 is rank 95 of 100, which falls among the 96 idle windows.
    const series = new Map<number, [number, number]>([
      [3, [1000, 1]],
      [7, [5000, 2]],
      [8, [200, 1]],
      [9, [100, 1]],
    ]);
    assert.deepEqual(windowRates(series, 10, 100), { peakBytesPerSecond: 500, p95BytesPerSecond: 0 });
    // 20 windows, 4 busy: rank 19 of 20 is the third smallest busy window (200... sorted 100,200,1000,5000).
    assert.deepEqual(windowRates(series, 10, 20), { peakBytesPerSecond: 500, p95BytesPerSecond: 100 });
    assert.deepEqual(windowRates(series, 10, 4), { peakBytesPerSecond: 500, p95BytesPerSecond: 500 });
  });
});
