import { CaptureError } from '../capture/capture-error.js';

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

const FS_PROBLEMS: Readonly<Record<string, string>> = {
  ENOENT: 'no such file or directory',
  ENOTDIR: 'a part of the path is not a directory',
  EISDIR: 'it is a directory',
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  EROFS: 'read-only file system',
  ENOSPC: 'no space left on the device',
  EDQUOT: 'disk quota exceeded',
  ENAMETOOLONG: 'the name is too long',
  EEXIST: 'it already exists',
};

/**
 * What a user caused, as a UserError: a UserError itself, a capture that cannot be read or opened
 * (capture/ has its own error, since it depends on nothing above it), or a file-system error on a path
 * the user named (an output in a missing directory, a directory given as a file). Undefined for anything
 * else, which stays an internal error.
 */
export function asUserError(err: unknown): UserError | undefined {
  if (err instanceof UserError) return err;
  if (err instanceof CaptureError)
    return new UserError(err.code, err.message, err.usage ? EXIT.usage : EXIT.input);
  return fileSystemUserError(err);
}

function fileSystemUserError(err: unknown): UserError | undefined {
  const e = err as NodeJS.ErrnoException;
  if (!(err instanceof Error) || typeof e.path !== 'string' || e.code === undefined) return undefined;
  const problem = FS_PROBLEMS[e.code];
  if (problem === undefined) return undefined;
  const verb = e.syscall === 'open' || e.syscall === undefined ? 'use' : e.syscall;
  return new UserError(`file_${e.code.toLowerCase()}`, `cannot ${verb} ${e.path}: ${problem}`);
}
