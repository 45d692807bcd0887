/** The codes of CaptureError (README "Error codes"). */
export type CaptureCode =
  | 'bad_filter'
  | 'capture_bad_pcapng'
  | 'capture_empty'
  | 'capture_is_directory'
  | 'capture_not_found'
  | 'capture_open_failed'
  | 'capture_permission'
  | 'capture_truncated_header'
  | 'capture_unknown_format'
  | 'capture_unreadable'
  | 'libvirt_failed'
  | 'no_live_capture'
  | 'no_such_interface'
  | 'no_virsh'
  | 'unsupported_link_type';

/**
 * A capture the user named cannot be read or opened: a missing file, an unknown format, an interface
 * that does not exist, no permission to capture. Each has a stable code; the CLI prints the message
 * without a stack trace, with the exit code its table gives the code.
 */
export class CaptureError extends Error {
  constructor(
    readonly code: CaptureCode,
    message: string,
  ) {
    super(message);
    this.name = 'CaptureError';
  }
}
