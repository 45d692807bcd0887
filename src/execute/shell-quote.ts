/** POSIX shell quoting: for the script a human reviews and runs as is, and for QMP launch lines. */
export function shellQuote(word: string): string {
  return /^[\w@%+=:,./-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}
