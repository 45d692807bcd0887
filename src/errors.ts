/**
 * Errors a user can cause. Each has a stable code (for scripts and tests) and a message that says what
 * to do; the CLI prints the message without a stack trace and exits with `exitCode`.
 */
export class UserError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly exitCode: number = EXIT.input,
  ) {
    super(message);
    this.name = 'UserError';
  }
}

/** Documented exit codes (README "Exit codes"). */
export const EXIT = {
  ok: 0,
  internal: 1,
  usage: 2,
  input: 3,
  /** sky-plan execute: some migrations failed (their VMs still run at their source). */
  incomplete: 4,
} as const;
