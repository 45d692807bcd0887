import assert from 'node:assert/strict';
import { openSync, readdirSync, statSync, truncateSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { ContentStore, sha256 } from '../../src/tunnel/content-store.js';
import { PAGE_SIZE } from '../../src/tunnel/precopy-parser.js';
import { tempDir } from '../helpers.js';

const page = (n: number) => {
  const b = Buffer.alloc(PAGE_SIZE);
  b.writeUInt32BE(n);
  return b;
};

describe('content store', () => {
  it('keeps pages across restarts, drops a record cut by a crash, keeps its epoch', () => {
    const dir = tempDir();
    const store = new ContentStore(dir, 1e9);
    for (let i = 0; i < 10; i++) store.put(page(i));
    store.close();
    const segment = join(dir, readdirSync(dir).find((f) => f.startsWith('segment-')) as string);
    truncateSync(segment, statSync(segment).size - 100); // the last record, half written
    const again = new ContentStore(dir, 1e9);
    assert.equal(again.epoch, store.epoch);
    assert.equal(again.pages, 9);
    assert.ok(again.get(sha256(page(8)))?.equals(page(8)));
    assert.equal(again.get(sha256(page(9))), undefined);
    again.put(page(9));
    assert.ok(again.get(sha256(page(9)))?.equals(page(9)));
    again.close();
  });

  it('lists the pages stored since a generation, but the runs a source knows already', () => {
    const store = new ContentStore(tempDir(), 1e9);
    for (let i = 0; i < 10; i++) store.put(page(i));
    store.put(page(3)); // stored already: no new generation
    assert.equal(store.generation, 10);
    const numbers = (hashes: Buffer[]) =>
      hashes.map((h) => [...Array(10).keys()].find((i) => sha256(page(i)).equals(h)));
    assert.deepEqual(numbers(store.hashesSince(0)), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    assert.deepEqual(numbers(store.hashesSince(6)), [6, 7, 8, 9]);
    assert.deepEqual(numbers(store.hashesSince(1, [2, 4, 6, 7, 9, 12])), [1, 4, 5, 7, 8]);
    store.close();
  });

  it('reads a damaged page as missing, never as wrong content', () => {
    const dir = tempDir();
    const store = new ContentStore(dir, 1e9);
    store.put(page(1));
    store.put(page(2));
    const segment = join(dir, readdirSync(dir).find((f) => f.startsWith('segment-')) as string);
    const fd = openSync(segment, 'r+');
    writeSync(fd, Buffer.from([0xff]), 0, 1, 32 + 100); // a flipped byte in the first page
    assert.equal(store.get(sha256(page(1))), undefined);
    assert.ok(store.get(sha256(page(2)))?.equals(page(2)));
    store.close();
  });

  it('a new store has a new epoch; eviction waits for running migrations and keeps the bound', () => {
    const a = new ContentStore(tempDir(), 1e9);
    const b = new ContentStore(tempDir(), 1e9);
    assert.notEqual(a.epoch, b.epoch);
    const dir = tempDir();
    const bound = 20000 * (PAGE_SIZE + 32);
    const store = new ContentStore(dir, bound);
    store.begin();
    for (let i = 0; i < 40000; i++) store.put(page(i)); // three segments
    assert.equal(store.pages, 40000, 'nothing is evicted during a migration');
    const before = store.epoch;
    store.end();
    assert.ok(store.pages * (PAGE_SIZE + 32) <= bound, `${store.pages} pages kept`);
    // Pictures of the store from before claim evicted pages: a new epoch voids them.
    assert.notEqual(store.epoch, before, 'an eviction starts a new epoch');
    const epoch = store.epoch;
    store.begin();
    store.end();
    assert.equal(store.epoch, epoch, 'no eviction, same epoch');
    assert.ok(store.get(sha256(page(39999)))?.equals(page(39999)), 'the newest pages stay');
    assert.equal(store.get(sha256(page(0))), undefined, 'the oldest go');
    store.close();
  });
});
