/** POSIX shell quoting: for the script a human reviews and runs as is, and for QMP launch lines. */
export function shellQuote(word: string): string {
  return /^[\w@%+=:,./-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}

/**
 * An operator's configured shell command with each {key} replaced by quoted words: one word per value,
 * a list's words joined by spaces. Unknown keys are left as written.
 */
export function fillCommand(template: string, values: Record<string, string | string[]>): string {
  return template.replace(/\{(\w+)\}/g, (whole, key: string) => {
    const value = values[key];
    if (value === undefined) return whole;
    return (typeof value === 'string' ? [value] : value).map(shellQuote).join(' ');
  });
}
