import type { Command } from 'commander';
import { UserError } from '../errors.js';
import { COMPLETIONS, type Shell } from './completion.js';
import { manPage } from './man-page.js';

/** `sky-plan completion bash|zsh|fish` and `sky-plan man`: generated from the commands themselves. */
export function registerShell(program: Command): void {
  program
    .command('completion')
    .summary('print a shell completion script (bash, zsh or fish)')
    .description(
      'Prints the completion script for a shell, generated from the commands and options:\n' +
        '  bash, zsh: eval "$(sky-plan completion bash)" in ~/.bashrc (zsh: completion zsh, ~/.zshrc)\n' +
        '  fish: sky-plan completion fish > ~/.config/fish/completions/sky-plan.fish',
    )
    .argument('<shell>', 'bash, zsh or fish')
    .action((shell: string) => {
      if (!(shell in COMPLETIONS))
        throw new UserError('bad_format', `completion: "${shell}" is not bash, zsh or fish`);
      process.stdout.write(COMPLETIONS[shell as Shell](program));
    });
  program
    .command('man')
    .summary('print the sky-plan(1) manual page (roff)')
    .description("Prints the manual page, generated from the commands' help: sky-plan man | man -l -")
    .action(() => {
      process.stdout.write(manPage(program));
    });
}
