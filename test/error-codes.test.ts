import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { ERROR_TABLE } from '../src/cli/error-table.js';
import { ROOT } from './helpers.js';

describe('error codes', () => {
  it('the README lists every code with the exit code the table gives it, and no other', () => {
    const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
    const listed = new Map(
      [...readme.matchAll(/^\| `([a-z_]+)` \| ([23]) \| /gm)].map((m) => [m[1], Number(m[2])]),
    );
    const table = new Map(Object.entries(ERROR_TABLE).map(([code, e]) => [code, e.exit === 'usage' ? 2 : 3]));
    assert.deepEqual(listed, table);
  });
});
