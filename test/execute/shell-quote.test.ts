import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { parseInventory } from '../../src/inventory/load-inventory.js';
import { fillCommand, quotedPlaceholder } from '../../src/shell-quote.js';
import { tempDir } from '../helpers.js';

const dir = tempDir();
const marker = join(dir, 'pwned');
/** Values an inventory path, an overlay's MAC list or a hand-edited plan could carry. */
const HOSTILE = [
  `$(touch ${marker})`,
  `\`touch ${marker}\``,
  `a; touch ${marker}`,
  `a' ; touch ${marker}; '`,
  `"; touch ${marker}; "`,
  `a\ntouch ${marker}`,
  `a && touch ${marker}`,
  `-rf`,
  `a b\tc`,
  `\\'`,
  `*`,
  '',
];

describe('commands sky-plan runs: no value reaches the shell as code', () => {
  it('turns every value into exactly one literal word, run through sh', () => {
    for (const value of HOSTILE) {
      const command = fillCommand('printf "%s\\n" {one} && printf "[%s]" {many}', {
        one: value,
        many: [value, 'x'],
      });
      const out = execFileSync('sh', ['-c', command], { encoding: 'utf8' });
      assert.equal(out, `${value}\n[${value}][x]`, JSON.stringify(value));
      assert.equal(existsSync(marker), false, `${JSON.stringify(value)} ran: ${command}`);
    }
  });

  it('refuses a template with a placeholder inside quotes, where a value could run', () => {
    assert.equal(quotedPlaceholder('qemu -name {vm} -qmp unix:{socket},server'), undefined);
    assert.equal(quotedPlaceholder(`echo "it's" {vm}`), undefined);
    assert.equal(quotedPlaceholder(`echo \\"{vm}`), undefined);
    assert.equal(quotedPlaceholder('sh -c "qemu -name {vm}"'), '{vm}');
    assert.equal(quotedPlaceholder("ip link set '{macs}'"), '{macs}');
    // Why it matters: a quoted value inside double quotes is a command substitution again.
    const command = fillCommand('echo "{vm}"', { vm: `$(touch ${marker})` });
    execFileSync('sh', ['-c', command]);
    assert.equal(existsSync(marker), true, 'the unsafe template does run the value');
  });

  it('says so at inventory load, pointing at the line', async () => {
    const text = [
      'clouds:',
      '  - name: a',
      '    overlay:',
      '      arrive: bridge fdb add "{macs}" dev vxlan0',
      '',
    ].join('\n');
    await assert.rejects(parseInventory(text, 'inv.yaml'), /inv\.yaml:4:\d+.*\{macs\} is inside quotes/);
  });
});
