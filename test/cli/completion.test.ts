// @integration: needs bash, zsh, fish and man (groff)
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { describe, it } from 'node:test';
import { CLI, runCli, tempDir } from '../helpers.js';

const home = tempDir();
const script = (shell: string) =>
  `${JSON.stringify(process.execPath)} ${JSON.stringify(CLI)} completion ${shell}`;

/** What a shell offers after the words typed so far (the last one being completed). */
function offered(shell: 'bash' | 'zsh' | 'fish', words: string[]): string[] {
  const typed = words.map((w) => `'${w}'`).join(' ');
  const program =
    shell === 'fish'
      ? `${script('fish')} | source; complete -C ${JSON.stringify(words.join(' '))}`
      : // zsh runs bash functions through bashcompinit, which indexes arrays from 0 as bash does.
        `eval "$(${script(shell)})"; ${shell === 'zsh' ? 'setopt ksharrays;' : ''} COMP_WORDS=(${typed}); COMP_CWORD=${words.length - 1}; _sky_plan; printf '%s\\n' "\${COMPREPLY[@]}"`;
  const r = spawnSync(shell, ['-c', program], {
    encoding: 'utf8',
    cwd: '/',
    env: { ...process.env, HOME: home },
  });
  assert.equal(r.status, 0, `${shell}: ${r.stderr}`);
  assert.equal(r.stderr, '', `${shell} complains`);
  const current = words.at(-1) as string;
  return (
    r.stdout
      .split('\n')
      .filter((l) => l !== '')
      .map((l) => l.split('\t')[0] as string)
      // zsh's compgen leaves matching the word to zsh itself (compadd), as it does here.
      .filter((w) => shell !== 'zsh' || w.startsWith(current))
  );
}

describe('shell completion and the manual page, generated from the commands', () => {
  for (const shell of ['bash', 'zsh', 'fish'] as const)
    it(`${shell}: completes commands, subcommands and each command's own options`, () => {
      assert.deepEqual(offered(shell, ['sky-plan', 'ana']), ['analyze']);
      assert.ok(offered(shell, ['sky-plan', 'e']).includes('execute'));
      assert.ok(offered(shell, ['sky-plan', 'e']).includes('export'));
      assert.deepEqual(offered(shell, ['sky-plan', 'analyze', '--inv']), ['--inventory']);
      assert.deepEqual(offered(shell, ['sky-plan', 'tunnel', 'so']), ['source']);
      assert.deepEqual(offered(shell, ['sky-plan', 'tunnel', 'source', '--psk']), ['--psk-file']);
      // Options belong to their command: plan's --solver is not offered to verify.
      assert.deepEqual(offered(shell, ['sky-plan', 'verify', '--sol']), []);
    });

  it('refuses a shell it does not know', () => {
    const r = runCli(['completion', 'tcsh']);
    assert.equal(r.status, 2);
    assert.match(r.stderr, /"tcsh" is not bash, zsh or fish/);
  });

  it('man: renders without a groff warning and documents every command and option', () => {
    const page = runCli(['man']).stdout;
    const r = spawnSync('man', ['--warnings', '-l', '-'], {
      input: page,
      encoding: 'utf8',
      env: { ...process.env, MANWIDTH: '100', MANPAGER: 'cat', PAGER: 'cat' },
    });
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stderr, '', 'groff warns about nothing');
    // man marks bold and underline with backspaces when its output is not a terminal.
    const chars = [...r.stdout];
    const text = chars.filter((c, k) => c !== '\b' && chars[k + 1] !== '\b').join('');
    for (const line of [
      'sky-plan analyze [options] <capture...>',
      'sky-plan tunnel source [options]',
      '--tolerance <ratio>',
      '--psk-file',
    ])
      assert.ok(text.includes(line), line);
    assert.match(text, /EXIT STATUS[\s\S]*5\s+mismatch/);
  });
});
