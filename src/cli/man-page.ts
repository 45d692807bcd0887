import type { Command } from 'commander';
import { EXIT } from '../errors.js';
import { VERSION } from '../version.js';

/** Text as roff reads it: backslashes and dashes literal, no line taken for a request. */
function roff(text: string): string {
  return text
    .replace(/\\/g, '\\e')
    .replace(/-/g, '\\-')
    .split('\n')
    .map((l) => (/^[.']/.test(l) ? `\\&${l}` : l))
    .join('\n');
}

function usage(cmd: Command, path: string[]): string {
  return [...path, cmd.name(), cmd.usage()].join(' ');
}

/** sky-plan(1), from the same commands, arguments and options as --help. */
export function manPage(program: Command): string {
  const out = [
    `.TH SKY\\-PLAN 1 "" "sky-plan ${VERSION}" "User Commands"`,
    '.SH NAME',
    `sky\\-plan \\- ${roff(program.description())}`,
    '.SH SYNOPSIS',
    '.B sky\\-plan',
    '.I command',
    '[options] [arguments]',
    '.SH COMMANDS',
  ];
  const walk = (cmd: Command, path: string[]) => {
    for (const sub of cmd.commands) {
      out.push(`.SS "${roff(usage(sub, path))}"`, roff(sub.description()));
      for (const a of sub.registeredArguments)
        out.push(
          '.TP',
          `.I ${roff(a.name())}`,
          roff(a.description || (a.required ? 'required' : 'optional')),
        );
      for (const o of sub.options) {
        const fallback =
          o.defaultValue === undefined || o.defaultValue === false
            ? ''
            : ` (default: ${JSON.stringify(o.defaultValue)})`;
        out.push('.TP', `.B ${roff(o.flags)}`, roff(`${o.description}${fallback}`));
      }
      if (sub.commands.length > 0) walk(sub, [...path, sub.name()]);
    }
  };
  walk(program, ['sky-plan']);
  out.push('.SH EXIT STATUS');
  for (const [name, code] of Object.entries(EXIT)) out.push('.TP', `.B ${code}`, roff(name));
  out.push(
    '.SH SEE ALSO',
    'The README (installed with the package) explains every command, format and figure in full.',
  );
  return `${out.join('\n')}\n`;
}
