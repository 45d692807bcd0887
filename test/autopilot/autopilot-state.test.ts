import assert from 'node:assert/strict';
import { appendFileSync, existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import {
  type AutopilotState,
  appendMove,
  movesLog,
  NEW_STATE,
  readState,
  writeState,
} from '../../src/autopilot/autopilot-state.js';
import { UserError } from '../../src/errors.js';
import { tempDir } from '../helpers.js';

const move = (vm: string, round: number) => ({ vm, from: 'A', to: 'B', at: 100 + round, round });
const pending: AutopilotState = { ...NEW_STATE, history: [move('old', 0)], round: 2, pending: 1 };

describe('autopilot state', () => {
  it('keeps the moves of a round cut short in its log, each once, the torn last line left out', () => {
    const file = join(tempDir(), 'state.json');
    writeState(file, pending);
    const before = readFileSync(file, 'utf8');
    appendMove(file, move('a', 1));
    appendMove(file, move('b', 1));
    appendMove(file, move('old', 0)); // already in the state file: a crash between fold and removal
    assert.equal(readFileSync(file, 'utf8'), before, 'a move appends a line, the state is not rewritten');
    appendFileSync(movesLog(file), '{"vm":"c","fr');
    const state = readState(file);
    assert.deepEqual(
      state.history.map((m) => m.vm),
      ['old', 'a', 'b'],
    );
    assert.equal(state.pending, 1);
    writeState(file, { ...state, pending: null });
    assert.equal(existsSync(movesLog(file)), false, 'folded in, the log is gone');
    assert.deepEqual(
      readState(file).history.map((m) => m.vm),
      ['old', 'a', 'b'],
    );
  });

  it('names the line of a damaged moves log', () => {
    const file = join(tempDir(), 'state.json');
    writeState(file, pending);
    appendFileSync(movesLog(file), `garbage\n${JSON.stringify(move('a', 1))}\n`);
    assert.throws(
      () => readState(file),
      (err) => err instanceof UserError && /state\.json\.moves:1: not JSON/.test(err.message),
    );
    writeState(file, pending);
    appendFileSync(movesLog(file), `${JSON.stringify({ vm: 'a' })}\n`);
    assert.throws(
      () => readState(file),
      (err) => err instanceof UserError && /state\.json\.moves:1:/.test(err.message),
    );
  });
});
