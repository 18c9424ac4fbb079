import { randomBytes } from 'node:crypto';
import {
  closeSync,
  existsSync,
  fsyncSync,
  openSync,
  readdirSync,
  readFileSync,
  renameSync,
  statSync,
  unlinkSync,
  writeSync,
} from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { CliError } from './errors.js';

export function readInputFile(path: string, what: string): Buffer {
  if (!existsSync(path)) throw new CliError(`${path}: ${what} not found`);
  const st = statSync(path);
  if (st.isDirectory()) throw new CliError(`${path}: ${what} is a directory, expected a file`);
  try {
    return readFileSync(path);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new CliError(
      `${path}: cannot read ${what} (${code === 'EACCES' ? 'permission denied' : (e as Error).message})`,
    );
  }
}

/** Checks that an output path can be written before any long work starts. */
export function checkOutputPath(path: string, force: boolean): void {
  const dir = dirname(resolve(path));
  if (!existsSync(dir)) throw new CliError(`${path}: output folder ${dir} does not exist`);
  if (!statSync(dir).isDirectory()) throw new CliError(`${path}: ${dir} is not a folder`);
  if (existsSync(path)) {
    if (statSync(path).isDirectory()) throw new CliError(`${path}: is a directory`);
    if (!force) throw new CliError(`${path}: already exists (use --force to overwrite)`);
  }
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
  const prefix = `.${basename(target)}.`;
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

/**
 * Writes a file atomically: a temporary file in the same folder, fsync, then rename over the
 * target, so the path holds the old file or the complete new one, never a partial file.
 */
export function writeFileAtomic(
  path: string,
  chunks: Uint8Array | readonly Uint8Array[],
  force: boolean,
): void {
  checkOutputPath(path, force);
  const target = resolve(path);
  removeStaleTemps(target);
  const tmp = join(
    dirname(target),
    `.${basename(target)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`,
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
    renameSync(tmp, target);
  } catch (e) {
    if (fd !== undefined) closeSync(fd);
    if (existsSync(tmp)) unlinkSync(tmp);
    const err = e as NodeJS.ErrnoException;
    throw new CliError(
      `${path}: cannot write (${err.code === 'EACCES' ? 'permission denied' : err.message})`,
    );
  }
}
