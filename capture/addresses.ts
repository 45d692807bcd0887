import { isIPv4, isIPv6 } from 'node:net';

/** Text forms of the numeric addresses the decoder produces, and the reverse for inventories. */

export function ipv4ToString(n: number): string {
  return `${n >>> 24}.${(n >>> 16) & 255}.${(n >>> 8) & 255}.${n & 255}`;
}

/** RFC 5952 text: lowercase, longest run of two or more zero groups compressed. */
export function ipv6ToString(w: ArrayLike<number>): string {
  const groups: number[] = [];
  for (let i = 0; i < 4; i++) {
    const x = w[i] as number;
    groups.push(x >>> 16, x & 0xffff);
  }
  let bestStart = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (bestStart < 0) return hex.join(':');
  return `${hex.slice(0, bestStart).join(':')}::${hex.slice(bestStart + bestLen).join(':')}`;
}

export function ipToString(version: number, w: ArrayLike<number>): string {
  return version === 4 ? ipv4ToString(w[0] as number) : ipv6ToString(w);
}

export function macToString(mac: number): string {
  return mac
    .toString(16)
    .padStart(12, '0')
    .replace(/(..)(?!$)/g, '$1:');
}

/** 48-bit MAC from "02:00:00:00:00:10" (also '-' separated or bare); undefined when invalid. */
export function parseMac(text: string): number | undefined {
  const hex = text.replace(/[:-]/g, '');
  if (!/^[0-9a-fA-F]{12}$/.test(hex)) return undefined;
  return Number.parseInt(hex, 16);
}

/** Canonical text of an IP literal (so inventory spellings match decoded addresses); undefined when invalid. */
export function canonicalIp(text: string): string | undefined {
  const ip = parseIp(text);
  return ip === undefined ? undefined : ipToString(ip.version, ip.words);
}

/** An IP literal in the decoder's form: version and four 32-bit words (IPv4 in the first). */
export function parseIp(text: string): { version: 4 | 6; words: Uint32Array } | undefined {
  const words = new Uint32Array(4);
  if (isIPv4(text)) {
    const [a = 0, b = 0, c = 0, d = 0] = text.split('.').map(Number);
    words[0] = ((a << 24) | (b << 16) | (c << 8) | d) >>> 0;
    return { version: 4, words };
  }
  if (!isIPv6(text)) return undefined;
  const [head = '', tail] = text.toLowerCase().split('::');
  const parse = (s: string) => (s === '' ? [] : s.split(':'));
  let h = parse(head);
  let t = tail === undefined ? [] : parse(tail);
  const v4 = (parts: string[]) => {
    const last = parts[parts.length - 1];
    if (last?.includes('.')) {
      const [a = 0, b = 0, c = 0, d = 0] = last.split('.').map(Number);
      parts.splice(parts.length - 1, 1, ((a << 8) | b).toString(16), ((c << 8) | d).toString(16));
    }
    return parts;
  };
  if (tail === undefined) h = v4(h);
  else t = v4(t);
  const groups = [...h, ...Array(8 - h.length - t.length).fill('0'), ...t].map((g) => Number.parseInt(g, 16));
  for (let i = 0; i < 4; i++) words[i] = (((groups[i * 2] ?? 0) << 16) | (groups[i * 2 + 1] ?? 0)) >>> 0;
  return { version: 6, words };
}
