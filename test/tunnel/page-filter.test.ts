import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { hashKey } from '../../src/tunnel/content-store.js';
import {
  buildFilter,
  decodeShard,
  encodeShard,
  FILTER_BITS_PER_PAGE,
  filterBytes,
  PageFilter,
  readShards,
} from '../../src/tunnel/page-filter.js';

const keys = (n: number) => Array.from({ length: n }, () => hashKey(randomBytes(32)));

describe('page filter', () => {
  it('has every key it holds, wrongly claims about 1 in 2,000 others, and takes 2 bytes a key', () => {
    const held = keys(300_000);
    const shards = buildFilter(held);
    // 600 kB of bits: more than one frame's worth, so the store's filter comes in shards.
    assert.ok(shards.length > 1, `${shards.length} shards`);
    const bytes = shards.reduce((s, x) => s + x.bits.length, 0);
    assert.ok(bytes <= filterBytes(held.length) + 8 * shards.length, `${bytes} bytes`);
    assert.equal(FILTER_BITS_PER_PAGE / 8, 2);
    const filter = new PageFilter(shards);
    assert.equal(filter.entries, held.length);
    assert.ok(
      held.every((k) => filter.has(k)),
      'no false negative',
    );
    const others = keys(1_000_000);
    const wrong = others.filter((k) => filter.has(k)).length;
    // The stated rate is 4.6e-4: 460 expected, a standard deviation of about 21.
    assert.ok(wrong > 300 && wrong < 650, `${wrong} false positives in 1,000,000`);
  });

  it('goes through its wire form unchanged, and a filter missing a shard is refused', () => {
    const held = keys(300_000);
    const shards = buildFilter(held).map((s) => decodeShard(encodeShard(s)));
    assert.ok(shards.every((s) => typeof s !== 'string'));
    const whole = readShards(shards as Exclude<(typeof shards)[number], string>[]);
    assert.ok(whole instanceof PageFilter);
    assert.ok(held.slice(0, 1000).every((k) => whole.has(k)));
    assert.match(String(readShards(shards.slice(1) as never)), /a filter of \d+ shards came as \d+/);
    assert.match(String(decodeShard(Buffer.alloc(20))), /filter shard 0 of 0/);
    assert.match(String(decodeShard(Buffer.alloc(5))), /a filter shard of 5 bytes/);
  });
});
