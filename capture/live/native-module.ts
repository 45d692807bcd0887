import { createRequire } from 'node:module';
import { CaptureError } from '../capture-error.js';

/**
 * Loads a native libpcap binding (`pcap`, `cap`: optional dependencies) only when live capture asks for
 * it, so every other command works where it was never built; its absence is an error that says what to do.
 */
export function nativeModule<T>(name: 'pcap' | 'cap', purpose: string): T {
  // require keeps what it loaded: a second call costs a lookup.
  try {
    return createRequire(import.meta.url)(name) as T;
  } catch (err) {
    throw new CaptureError(
      'no_live_capture',
      `${purpose} needs the native "${name}" module, which did not load (${firstLine(err)}). Install ` +
        'libpcap and its headers (apt-get install libpcap-dev python3 make g++), then run ' +
        `"npm rebuild ${name}" in sky-plan's directory (npm 11 builds it only because package.json lists ` +
        'it under allowScripts)',
    );
  }
}

export function firstLine(err: unknown): string {
  return String((err as Error).message ?? err).split('\n')[0] as string;
}
