import { CardinalError, InternalError, UsageError } from '@cardinal/core';

/** A mistake in how the command was called (exit code 2): core's, shared with the libraries. */
export { UsageError };

/** A user-facing failure of the CLI's own (an argument that names no usable file or model): exit code 1. */
export class CliError extends CardinalError {
  constructor(message: string) {
    super('E_INPUT', message);
  }
}

const NODE_FS_CODES: Record<string, string> = {
  ENOENT: 'no such file or directory',
  EACCES: 'permission denied',
  EISDIR: 'is a directory',
  ENOTDIR: 'a parent is not a directory',
  ENAMETOOLONG: 'the name is too long',
  ELOOP: 'too many symbolic links',
  EEXIST: 'already exists',
  EROFS: 'read-only file system',
  ENOSPC: 'no space left on device',
};

/** One line for the user, and the exit code; undefined line means an internal error. */
export function describeError(e: unknown): { line: string; code: number; internal: boolean } {
  if (e instanceof UsageError) return { line: e.message, code: 2, internal: false };
  if (e instanceof InternalError) return { line: `internal error: ${e.message}`, code: 70, internal: true };
  if (e instanceof CardinalError) return { line: e.message, code: 1, internal: false };
  const err = e as NodeJS.ErrnoException;
  if (err && typeof err.code === 'string' && NODE_FS_CODES[err.code]) {
    return { line: `${err.path ?? ''}: ${NODE_FS_CODES[err.code]}`, code: 1, internal: false };
  }
  // Only reachable past the cost limits (CARDINAL_ALLOW_LARGE=1): the machine, not a bug.
  if (e instanceof RangeError && /allocation failed|Invalid typed array length|Array buffer/i.test(e.message))
    return { line: `out of memory: ${e.message}`, code: 1, internal: false };
  return { line: `internal error: ${err?.message ?? String(e)}`, code: 70, internal: true };
}
