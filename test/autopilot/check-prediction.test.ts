import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { checkPrediction } from '../../src/autopilot/check-prediction.js';

describe('a round of moves checked against what was measured after it', () => {
  it('compares per cloud pair and in all, a pair on one side only counting as 0 on the other', () => {
    const c = checkPrediction(
      {
        round: 4,
        at: 100,
        pairs: [
          { from: 'a', to: 'b', bytesPerSecond: 1000 },
          { from: 'b', to: 'a', bytesPerSecond: 500 },
        ],
      },
      [
        { from: 'a', to: 'b', bytesPerSecond: 1100 },
        { from: 'c', to: 'a', bytesPerSecond: 300 },
      ],
    );
    assert.equal(c.round, 4);
    assert.equal(c.predictedBytesPerSecond, 1500);
    assert.equal(c.observedBytesPerSecond, 1400);
    assert.ok(Math.abs(c.error - 100 / 1500) < 1e-12);
    assert.deepEqual(c.pairs, [
      { from: 'a', to: 'b', predicted: 1000, observed: 1100 },
      { from: 'b', to: 'a', predicted: 500, observed: 0 },
      { from: 'c', to: 'a', predicted: 0, observed: 300 },
    ]);
    assert.equal(checkPrediction({ round: 1, at: 0, pairs: [] }, []).error, 0);
  });
});
