import type { Command, Option } from 'commander';

/** A command as a shell completes it: its words, its options, and the options that take a value. */
interface Completable {
  path: string[];
  summary: string;
  options: readonly Option[];
  subcommands: string[];
}

function completables(program: Command): Completable[] {
  const out: Completable[] = [];
  const walk = (cmd: Command, path: string[]) => {
    for (const sub of cmd.commands) {
      const p = [...path, sub.name()];
      out.push({
        path: p,
        summary: sub.summary() || sub.description(),
        options: sub.options,
        subcommands: sub.commands.map((c) => c.name()),
      });
      walk(sub, p);
    }
  };
  walk(program, []);
  return out;
}

const flags = (o: Option) => [o.short, o.long].filter((f): f is string => f !== undefined);
const takesValue = (o: Option) => o.required || o.optional;

/**
 * bash: commands, then each command's subcommands and options; files for everything else. zsh uses the
 * same function through bashcompinit.
 */
function bash(program: Command): string {
  const cs = completables(program);
  const cases = cs.map((c) => {
    const words = [...c.subcommands, ...c.options.flatMap(flags), '--help'].join(' ');
    return `    '${c.path.join(' ')}') words='${words}' ;;`;
  });
  return `# sky-plan completion for bash (and zsh): eval "$(sky-plan completion bash)"
_sky_plan() {
  local cur=\${COMP_WORDS[COMP_CWORD]} path='' i words
  for ((i = 1; i < COMP_CWORD; i++)); do
    case "\${COMP_WORDS[i]}" in -*) break ;; esac
    path="\${path:+$path }\${COMP_WORDS[i]}"
  done
  case "$path" in
    '') words='${program.commands.map((c) => c.name()).join(' ')} --help --version' ;;
${cases.join('\n')}
    *) words='' ;;
  esac
  if [[ $cur == -* || -z $path ]]; then
    COMPREPLY=($(compgen -W "$words" -- "$cur"))
  else
    COMPREPLY=($(compgen -W "$words" -- "$cur") $(compgen -f -- "$cur"))
  fi
}
complete -o filenames -F _sky_plan sky-plan
`;
}

function zsh(program: Command): string {
  return `# sky-plan completion for zsh: eval "$(sky-plan completion zsh)"
(( $+functions[compdef] )) || { autoload -U +X compinit && compinit -u; }
autoload -U +X bashcompinit && bashcompinit
${bash(program).split('\n').slice(1).join('\n')}`;
}

/** fish: each command with its summary, each option with its help, scoped to its command. */
function fish(program: Command): string {
  const quote = (s: string) => `'${s.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
  const lines = ['# sky-plan completion for fish: sky-plan completion fish | source'];
  lines.push('complete -c sky-plan -f');
  for (const c of completables(program)) {
    const parent = c.path.slice(0, -1);
    const name = c.path.at(-1) as string;
    const condition =
      parent.length === 0
        ? '__fish_use_subcommand'
        : `__fish_seen_subcommand_from ${parent.join(' ')}; and not __fish_seen_subcommand_from ${name}`;
    lines.push(`complete -c sky-plan -n ${quote(condition)} -a ${name} -d ${quote(c.summary)}`);
    for (const o of c.options) {
      const parts = ['complete -c sky-plan', `-n ${quote(`__fish_seen_subcommand_from ${name}`)}`];
      if (o.short !== undefined) parts.push(`-s ${o.short.slice(1)}`);
      if (o.long !== undefined) parts.push(`-l ${o.long.slice(2)}`);
      if (takesValue(o)) parts.push('-r -F');
      parts.push(`-d ${quote(o.description)}`);
      lines.push(parts.join(' '));
    }
  }
  return `${lines.join('\n')}\n`;
}

export const COMPLETIONS = { bash, zsh, fish } as const;
export type Shell = keyof typeof COMPLETIONS;
