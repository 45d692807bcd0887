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

/**
 * The first {placeholder} of a shell command template that stands inside quotes, if any. Inside
 * double quotes a quoted value's `$(...)` would run: each value is quoted here, so the template must
 * leave placeholders bare.
 */
export function quotedPlaceholder(template: string): string | undefined {
  let quote: "'" | '"' | undefined;
  for (let i = 0; i < template.length; i++) {
    const c = template[i] as string;
    if (c === '\\' && quote !== "'") i++;
    else if (quote === undefined && (c === "'" || c === '"')) quote = c;
    else if (c === quote) quote = undefined;
    else if (quote !== undefined && c === '{') {
      const key = /^\{\w+\}/.exec(template.slice(i))?.[0];
      if (key !== undefined) return key;
    }
  }
  return undefined;
}
