import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { seededRng } from '../../planner/rng.js';
import { PairTable } from '../../src/graph/pair-table.js';

describe('PairTable', () => {
  it('sums per key as a Map does, through growth, for keys past 2^32', () => {
    const rng = seededRng(5);
    const table = new PairTable(4); // grows many times
    const map = new Map<number, number>();
    // Keys a * n + b with n = 10^7: up to 2 * 10^10, 40,000 of them, each added about 2.5 times.
    for (let i = 0; i < 100_000; i++) {
      const key = Math.floor(rng() * 2000) * 1e7 + Math.floor(rng() * 20);
      const value = Math.floor(rng() * 1000);
      table.add(key, value);
      map.set(key, (map.get(key) ?? 0) + value);
    }
    assert.equal(table.size, map.size);
    const seen = new Map<number, number>();
    table.forEach((key, sum) => {
      seen.set(key, sum);
    });
    assert.deepEqual(
      new Map([...seen].sort((a, b) => a[0] - b[0])),
      new Map([...map].sort((a, b) => a[0] - b[0])),
    );
    for (const [key, sum] of map) assert.equal(table.get(key), sum);
    assert.equal(table.get(1e7 + 20), 0, 'a key never added is 0');
    assert.ok([...map.keys()].some((k) => k > 2 ** 32));
  });
});
