/** A bug an input showed: an oracle said no. */
export class Finding extends Error {}

/** One parser under fuzzing: where its seeds come from, and how one input runs with its oracles. */
export interface Target {
  name: string;
  seeds: () => Buffer[];
  run: (input: Buffer) => Promise<void>;
  /** Its own mutator (structure-aware), instead of bytes alone. */
  mutate?: (input: Buffer, other: Buffer, rng: () => number) => Buffer;
}

/** An exception's text as a finding shows it: its stack when it has one. */
export const described = (err: unknown): string => (err as Error)?.stack ?? String(err);

/** A reason given to a peer or a user that is a JavaScript error leaking out, not an explanation. */
export const LEAKED_ERROR =
  /TypeError|RangeError|SyntaxError|Cannot read|is not a function|undefined|NaN|out of range|Unexpected token/;
