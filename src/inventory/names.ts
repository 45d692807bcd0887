import * as v from 'valibot';

/**
 * Names of VMs, clouds, hosts and images (README "Names"): letters, digits and `. _ - : @`, starting
 * with a letter, a digit or `_`, at most 128 characters. Names end up in commands (virsh, QEMU launch
 * lines, the generated script) and paths (QMP sockets): this set needs no quoting anywhere and cannot
 * climb out of a directory.
 */
export const NAME_PATTERN = /^[A-Za-z0-9_][A-Za-z0-9_.:@-]{0,127}$/;

export const NAME_RULE = 'letters, digits and . _ - : @, starting with a letter, digit or _, at most 128';

export const nameSchema = v.pipe(
  v.string(),
  v.check(
    (name) => NAME_PATTERN.test(name),
    (issue) => `${JSON.stringify(issue.input)} is not a valid name (${NAME_RULE})`,
  ),
);
