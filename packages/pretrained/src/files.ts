import { randomBytes } from 'node:crypto';
import {
  closeSync,
  fstatSync,
  fsyncSync,
  linkSync,
  lstatSync,
  openSync,
  read,
  readdirSync,
  readSync,
  realpathSync,
  renameSync,
  type Stats,
  statSync,
  unlinkSync,
  writeSync,
} from 'node:fs';
import { basename, dirname, join, resolve, sep } from 'node:path';
import { FileError, jsonTooDeep, printable } from '@cardinal/core';

function fsReason(e: unknown): string {
  const code = (e as NodeJS.ErrnoException).code;
  if (code === 'EACCES' || code === 'EPERM') return 'permission denied';
  if (code === 'ENOENT') return 'not found';
  if (code === 'ENOTDIR') return 'a parent is not a folder';
  if (code === 'ENAMETOOLONG') return 'the name is too long';
  if (code === 'ELOOP') return 'too many symbolic links';
  return (e as Error).message;
}

function statOrUndefined(path: string): Stats | undefined {
  try {
    return statSync(path);
  } catch {
    return undefined;
  }
}

/**
 * Opens a file the user named as an input: it must be a regular file (a device such as
 * /dev/zero, a FIFO or a folder is refused before anything is read). Returns the descriptor
 * and its size.
 */
function openRegular(path: string, what: string): { fd: number; size: number } {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new FileError(`${path}: ${what} not found`);
    if (code === 'EISDIR') throw new FileError(`${path}: ${what} is a directory, expected a file`);
    throw new FileError(`${path}: cannot read ${what} (${fsReason(e)})`);
  }
  const st = fstatSync(fd);
  if (!st.isFile()) {
    closeSync(fd);
    const kind = st.isDirectory() ? 'a directory' : st.isFIFO() ? 'a pipe' : 'a device or special file';
    throw new FileError(`${path}: ${what} is ${kind}, expected a regular file`);
  }
  return { fd, size: st.size };
}

function readAt(fd: number, into: Uint8Array, position: number): number {
  let off = 0;
  while (off < into.byteLength) {
    const n = readSync(fd, into, off, into.byteLength - off, position + off);
    if (n === 0) break;
    off += n;
  }
  return off;
}

/** A check of a file's first bytes, which may refuse it before the rest is read. */
export type HeadCheck = { bytes: number; check: (head: Uint8Array, size: number) => void };

/** Opens a regular file the user named and runs the head check (closing the file if it fails). */
function openChecked(
  path: string,
  what: string,
  checkHead: HeadCheck | undefined,
): { fd: number; size: number } {
  const { fd, size } = openRegular(path, what);
  try {
    if (checkHead) {
      const head = Buffer.alloc(Math.min(checkHead.bytes, size));
      readAt(fd, head, 0);
      checkHead.check(head, size);
    }
    return { fd, size };
  } catch (e) {
    closeSync(fd);
    throw asFileError(e, path, what);
  }
}

function asFileError(e: unknown, path: string, what: string): unknown {
  if (e instanceof Error && 'code' in e && typeof (e as NodeJS.ErrnoException).errno === 'number')
    return new FileError(`${path}: cannot read ${what} (${fsReason(e)})`);
  return e;
}

/**
 * Reads a whole input file, at most the size it had when opened. `checkHead`, given the
 * first bytes, may refuse the file before the rest is read (a safetensors header length
 * beyond the file, say).
 */
export function readInputFile(path: string, what: string, checkHead?: HeadCheck): Buffer {
  const { fd, size } = openChecked(path, what, checkHead);
  try {
    const out = Buffer.allocUnsafe(size);
    const n = readAt(fd, out, 0);
    return n === size ? out : out.subarray(0, n);
  } catch (e) {
    throw asFileError(e, path, what);
  } finally {
    closeSync(fd);
  }
}

/** Files above this are read by several reads at once: first-touch page faults then run in parallel. */
const PARALLEL_READ_BYTES = 32 * 1024 * 1024;
const READ_CHUNK = 4 * 1024 * 1024;
const READERS = 4;

/** Reads [start, end) of a file into `out` at the same offsets; returns where the data ended. */
async function readRange(fd: number, out: Buffer, start: number, end: number): Promise<number> {
  let off = start;
  while (off < end) {
    const n = await new Promise<number>((res, rej) =>
      read(fd, out, off, end - off, off, (e, bytes) => (e ? rej(e) : res(bytes))),
    );
    if (n === 0) break;
    off += n;
  }
  return off;
}

/**
 * readInputFile for large files (weights): the same checks, and the file read by four reads
 * in flight at once in Node's thread pool, which on this project's machines takes 0.6 s for a
 * 356 MB checkpoint instead of 1.1 s (the time goes to faulting in fresh memory, which runs
 * in parallel).
 */
export async function readInputFileAsync(path: string, what: string, checkHead?: HeadCheck): Promise<Buffer> {
  const { fd, size } = openChecked(path, what, checkHead);
  try {
    const out = Buffer.allocUnsafe(size);
    if (size < PARALLEL_READ_BYTES) {
      const n = readAt(fd, out, 0);
      return n === size ? out : out.subarray(0, n);
    }
    let next = 0;
    let short = size;
    const reader = async () => {
      while (next < size) {
        const start = next;
        next += READ_CHUNK;
        const end = Math.min(start + READ_CHUNK, size);
        // The file shrank while being read: keep what was there.
        const got = await readRange(fd, out, start, end);
        if (got < end) short = Math.min(short, got);
      }
    };
    await Promise.all(Array.from({ length: READERS }, reader));
    return short === size ? out : out.subarray(0, short);
  } catch (e) {
    throw asFileError(e, path, what);
  } finally {
    closeSync(fd);
  }
}

/** Identity of an existing file (device and inode), so links and other spellings compare equal. */
function identity(path: string): string | undefined {
  const st = statOrUndefined(path);
  return st ? `${st.dev}:${st.ino}` : undefined;
}

/**
 * Refuses an output that lands inside a folder the command reads (a data or image folder),
 * by real paths: through a symlink, `..` or another spelling alike, with or without --force.
 */
export function checkOutsideInputs(path: string, inputs: readonly (string | undefined)[]): void {
  const real = (p: string): string | undefined => {
    try {
      return realpathSync(p);
    } catch {
      return undefined;
    }
  };
  // The output may not exist yet: its nearest existing ancestor, real, then the rest of the path.
  let base = resolve(path);
  const rest: string[] = [];
  while (real(base) === undefined && dirname(base) !== base) {
    rest.unshift(basename(base));
    base = dirname(base);
  }
  const target = join(real(base) ?? base, ...rest);
  for (const input of inputs) {
    if (input === undefined || !statOrUndefined(input)?.isDirectory()) continue;
    const folder = real(input);
    if (folder && (target === folder || target.startsWith(`${folder}${sep}`)))
      throw new FileError(
        `${path}: lands inside the input folder ${input}; inputs are never written, even with --force`,
      );
  }
}

/**
 * Checks that an output path can be written before any long work starts: its folder exists,
 * it is not a folder, it is no input of the command (refused even with --force: an input is
 * never written), and without --force it does not exist yet.
 */
export function checkOutputPath(
  path: string,
  force: boolean,
  inputs: readonly (string | undefined)[] = [],
): void {
  const dir = dirname(resolve(path));
  const dirStat = statOrUndefined(dir);
  if (!dirStat) throw new FileError(`${path}: output folder ${dir} does not exist`);
  if (!dirStat.isDirectory()) throw new FileError(`${path}: ${dir} is not a folder`);
  checkOutsideInputs(path, inputs);
  const target = identity(path);
  if (target !== undefined) {
    for (const input of inputs) {
      if (input !== undefined && identity(input) === target)
        throw new FileError(
          `${path}: is also an input of this command (${input}); inputs are never written, even with --force`,
        );
    }
  }
  let exists = false;
  try {
    const st = lstatSync(path);
    exists = true;
    if (st.isDirectory()) throw new FileError(`${path}: is a directory`);
  } catch (e) {
    if (e instanceof FileError) throw e;
  }
  if (exists && !force) throw new FileError(`${path}: already exists (use --force to overwrite)`);
}

/** Longest part of a name kept in a temporary name, so the temporary name fits in 255 bytes. */
const TEMP_STEM_BYTES = 200;

function tempPrefix(target: string): string {
  let stem = basename(target);
  while (Buffer.byteLength(stem) > TEMP_STEM_BYTES) stem = stem.slice(0, -1);
  return `.${stem}.`;
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Removes temporary files a killed writer left beside `target` (their writer is no longer running). */
function removeStaleTemps(target: string): void {
  const dir = dirname(target);
  const prefix = tempPrefix(target);
  for (const name of readdirSync(dir)) {
    const m = name.startsWith(prefix) && /\.(\d+)\.[0-9a-f]{8}\.tmp$/.exec(name);
    if (m && !processAlive(Number(m[1]))) {
      try {
        unlinkSync(join(dir, name));
      } catch {
        // Another writer may have removed it; nothing to do.
      }
    }
  }
}

function tryUnlink(path: string): void {
  try {
    unlinkSync(path);
  } catch {
    // Already gone.
  }
}

/**
 * Publishes a file atomically and, without `force`, exclusively: the bytes go to a temporary
 * file in the same folder, are synced, and then the temporary file is linked to the target
 * (link(2) fails if the target exists, so of several concurrent writers exactly one wins and
 * none replaces another's file) or, with `force`, renamed over it. The path holds nothing, the
 * old file or the complete new one: never a partial file. Paths in `inputs` are never written.
 */
export function writeFileAtomic(
  path: string,
  chunks: Uint8Array | readonly Uint8Array[],
  force: boolean,
  inputs: readonly (string | undefined)[] = [],
): void {
  checkOutputPath(path, force, inputs);
  const target = resolve(path);
  removeStaleTemps(target);
  const tmp = join(
    dirname(target),
    `${tempPrefix(target)}${process.pid}.${randomBytes(4).toString('hex')}.tmp`,
  );
  let fd: number | undefined;
  try {
    fd = openSync(tmp, 'wx', 0o644);
    for (const chunk of Array.isArray(chunks) ? chunks : [chunks as Uint8Array]) {
      let off = 0;
      while (off < chunk.byteLength) off += writeSync(fd, chunk, off);
    }
    fsyncSync(fd);
    closeSync(fd);
    fd = undefined;
    if (force) {
      // Checked again just before the rename: an input must not have appeared at the path since.
      checkOutputPath(path, true, inputs);
      renameSync(tmp, target);
    } else {
      linkSync(tmp, target);
      unlinkSync(tmp);
    }
  } catch (e) {
    if (fd !== undefined) closeSync(fd);
    tryUnlink(tmp);
    if (e instanceof FileError) throw e;
    const err = e as NodeJS.ErrnoException;
    if (err.code === 'EEXIST') throw new FileError(`${path}: already exists (use --force to overwrite)`);
    throw new FileError(`${path}: cannot write (${fsReason(e)})`);
  }
}

/** Configs are small; a "config" of more than this is not one (and is not read whole). */
const MAX_CONFIG_BYTES = 16 * 1024 * 1024;

/** Reads a JSON file the user named (a config), refusing binary content and files too large to be one. */
export function readJsonFile(path: string, what: string): unknown {
  const bytes = readInputFile(path, what, {
    bytes: 0,
    check: (_head, size) => {
      if (size > MAX_CONFIG_BYTES)
        throw new FileError(
          `${path}: ${size} bytes is too large for a ${what} (at most ${MAX_CONFIG_BYTES})`,
        );
    },
  });
  // A weights or tensor file given as the model: say so instead of quoting binary at the user.
  if (bytes.includes(0))
    throw new FileError(
      `${path}: not a JSON config (binary content; weights go with --weights, tensors with --input)`,
    );
  const text = bytes.toString('utf8');
  const deep = jsonTooDeep(text);
  if (deep) throw new FileError(`${path}: ${deep}`);
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new FileError(`${path}: not valid JSON (${printable((e as Error).message)})`);
  }
}

/** Whether a path is a folder (a model folder has config.json in it). */
export function isFolder(path: string): boolean {
  return statOrUndefined(path)?.isDirectory() ?? false;
}

/** Whether a path is a regular file. */
export function isFile(path: string): boolean {
  return statOrUndefined(path)?.isFile() ?? false;
}
