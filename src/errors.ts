import { type CaptureCode, CaptureError } from '../capture/capture-error.js';

/** A file-system error on a path the user named, by its errno code. */
const FS_PROBLEMS = {
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
} as const;

/** Every code a user error can carry; the CLI's table (src/cli/error-table.ts) gives each its exit code. */
export type ErrorCode =
  | 'bad_address'
  | 'bad_bytes'
  | 'bad_cloud_mapping'
  | 'bad_downtime_cost'
  | 'bad_driver'
  | 'bad_duration'
  | 'bad_exporter_host'
  | 'bad_format'
  | 'bad_limit'
  | 'bad_listen'
  | 'bad_max_flows'
  | 'bad_number'
  | 'bad_on_failure'
  | 'bad_phase'
  | 'bad_protocol'
  | 'bad_seed'
  | 'bad_size'
  | 'bad_solver'
  | 'bad_stat'
  | 'bad_store_max'
  | 'bad_tap'
  | 'bad_time'
  | 'bad_url'
  | 'cannot_listen'
  | 'cannot_read'
  | 'conflicting_format'
  | 'conflicting_options'
  | 'deadlock'
  | 'dedup_driver'
  | 'events_invalid'
  | 'events_unreadable'
  | 'fingerprint_directory'
  | 'fingerprint_source'
  | 'graph_bad_vm_name'
  | 'graph_invalid'
  | 'graph_unreadable'
  | 'host_count_mismatch'
  | 'inventory_invalid'
  | 'inventory_unreadable'
  | 'journal_driver'
  | 'journal_exists'
  | 'journal_invalid'
  | 'journal_mismatch'
  | 'journal_unreadable'
  | 'journal_unwritable'
  | 'libvirt_unreachable'
  | 'listen_failed'
  | 'matrix_too_large'
  | 'missing_clouds'
  | 'missing_driver'
  | 'missing_format'
  | 'no_clouds'
  | 'no_interfaces'
  | 'no_libvirt'
  | 'no_phases'
  | 'no_qmp'
  | 'not_windows'
  | 'nothing_to_collect'
  | 'output_is_directory'
  | 'output_no_directory'
  | 'output_unwritable'
  | 'pin_without_cloud'
  | 'plan_infeasible'
  | 'plan_invalid'
  | 'plan_not_executable'
  | 'plan_unreadable'
  | 'preflight'
  | 'psk_invalid'
  | 'psk_unreadable'
  | 'qmp_unreachable'
  | 'secret_unreadable'
  | 'sketch_invalid'
  | 'sketch_unreadable'
  | 'store_unavailable'
  | 'token_unreadable'
  | 'unknown_cloud'
  | 'unknown_vm'
  | 'vm_lost'
  | 'weak_token'
  | CaptureCode
  | `file_${Lowercase<keyof typeof FS_PROBLEMS>}`;

/**
 * Errors a user can cause. Each has a stable code (for scripts and tests) and a message that says what
 * to do; the CLI prints the message without a stack trace and exits with the code's exit code.
 */
export class UserError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
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
  /** sky-plan verify: the capture does not bear the plan out (beyond --tolerance, or VMs unseen). */
  mismatch: 5,
} as const;

/**
 * What a user caused, as a UserError: a UserError itself, a capture that cannot be read or opened
 * (capture/ has its own error, since it depends on nothing above it), or a file-system error on a path
 * the user named (an output in a missing directory, a directory given as a file). Undefined for anything
 * else, which stays an internal error.
 */
export function asUserError(err: unknown): UserError | undefined {
  if (err instanceof UserError) return err;
  if (err instanceof CaptureError) return new UserError(err.code, err.message);
  return fileSystemUserError(err);
}

function fileSystemUserError(err: unknown): UserError | undefined {
  const e = err as NodeJS.ErrnoException;
  if (!(err instanceof Error) || typeof e.path !== 'string' || e.code === undefined) return undefined;
  if (!(e.code in FS_PROBLEMS)) return undefined;
  const code = e.code as keyof typeof FS_PROBLEMS;
  const verb = e.syscall === 'open' || e.syscall === undefined ? 'use' : e.syscall;
  return new UserError(
    `file_${code.toLowerCase() as Lowercase<typeof code>}`,
    `cannot ${verb} ${e.path}: ${FS_PROBLEMS[code]}`,
  );
}
