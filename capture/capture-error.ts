/**
 * A capture the user named cannot be read or opened: a missing file, an unknown format, an interface
 * that does not exist, no permission to capture. Each has a stable code. The CLI prints the message
 * without a stack trace; `usage` marks a mistake in how the command was called rather than in its input.
 */
export class CaptureError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly usage = false,
  ) {
    super(message);
    this.name = 'CaptureError';
  }
}
