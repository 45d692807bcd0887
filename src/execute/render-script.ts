import { shellQuote } from '../shell-quote.js';
import type { Migration, Wave } from './schedule.js';

/** What a script does for one migration: shell lines joined with && (each word already quoted). */
export interface ScriptSteps {
  /** Shell functions the steps call, written once at the top. */
  preamble: string[];
  steps(m: Migration): string[];
}

/**
 * A shell script of the schedule for a human to review and run: each wave's migrations in parallel.
 * A failed migration leaves its VM at the source, and the moves that depend on it are skipped: its own
 * second hop, and later moves into the cloud it was to leave (they may need its room). The others go on.
 * At the end a summary gives each VM's outcome, and the exit status is 1 unless all of them moved.
 */
export function migrationScript(waves: Wave[], o: ScriptSteps): string {
  const all = waves.flatMap((w) => w.migrations);
  const id = new Map(all.map((m, i) => [m, i + 1]));
  const label = (m: Migration) => `${m.vm}: ${m.from}${host(m.fromHost)} → ${m.to}${host(m.toHost)}`;
  const lines = [
    '#!/bin/sh',
    `# Written by sky-plan execute --driver script: ${all.length} live migrations in ${waves.length} waves.`,
    '# Review before running. A failed migration leaves its VM running at its source; the moves that',
    '# depend on it are skipped, the others go on. The summary at the end gives every outcome.',
    'set -u',
    'state=$(mktemp -d)',
    'trap \'rm -rf "$state"\' EXIT',
    '# ok N...: every migration N succeeded.',
    'ok() { for n in "$@"; do [ -e "$state/$n.ok" ] || return 1; done; }',
    ...o.preamble,
    '',
  ];
  for (const m of all) {
    lines.push(`# ${label(m)}`, `migration_${id.get(m)}() {`);
    const steps = o.steps(m);
    lines.push(...steps.map((s, i) => `  ${s}${i < steps.length - 1 ? ' &&' : ''}`));
    lines.push('}');
  }
  const done: Migration[] = [];
  waves.forEach((wave, w) => {
    lines.push('', `echo ${shellQuote(`wave ${w + 1} of ${waves.length}`)}`);
    for (const m of wave.migrations) {
      const n = id.get(m) as number;
      const deps = done.filter((d) => d.vm === m.vm || d.from === m.to).map((d) => id.get(d));
      const fail = `touch "$state/${n}.failed"; echo ${shellQuote(`${label(m)}: FAILED`)} >&2`;
      const run = `{ if migration_${n}; then touch "$state/${n}.ok"; else ${fail}; fi; } &`;
      lines.push(deps.length === 0 ? run : `if ok ${deps.join(' ')}; then ${run} fi`);
    }
    lines.push('wait');
    done.push(...wave.migrations);
  });
  lines.push('', 'status=0', "echo 'summary:'");
  for (const m of all) {
    const n = id.get(m) as number;
    const say = (outcome: string) => `echo ${shellQuote(`  ${label(m)}: ${outcome}`)}`;
    lines.push(
      `if ok ${n}; then ${say('done')}; elif [ -e "$state/${n}.failed" ]; then status=1; ${say('FAILED, still at its source')}; else status=1; ${say('skipped: a move it depends on failed')}; fi`,
    );
  }
  lines.push('exit $status', '');
  return lines.join('\n');
}

const host = (name: string | null) => (name === null ? '' : ` (${name})`);
