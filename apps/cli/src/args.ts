import { type ParseArgsConfig, parseArgs } from 'node:util';
import { UsageError } from './errors.js';

export type OptionSpec = NonNullable<ParseArgsConfig['options']>;

/** util.parseArgs in strict mode, with its errors turned into one-line usage errors. */
function parseInternal<T extends OptionSpec>(command: string, argv: string[], options: T) {
  const config = {
    args: argv,
    options: { ...options, help: { type: 'boolean', short: 'h' } } as T & {
      help: { type: 'boolean'; short: 'h' };
    },
    allowPositionals: true,
    strict: true,
  } as const;
  try {
    return parseArgs(config);
  } catch (e) {
    const err = e as Error & { code?: string };
    const first = err.message.split('. ')[0]!.replace(/\.$/, '');
    if (err.code?.startsWith('ERR_PARSE_ARGS'))
      throw new UsageError(`${command}: ${first.charAt(0).toLowerCase()}${first.slice(1)}`);
    throw e;
  }
}

/** "224" or "224,192" -> [H, W]. */
export function parseSize(value: string, flag: string): [number, number] {
  const parts = value.split(',').map((s) => s.trim());
  const nums = parts.map(Number);
  if (parts.length < 1 || parts.length > 2 || !nums.every((n) => Number.isSafeInteger(n) && n > 0)) {
    throw new UsageError(`${flag} must be H or H,W with positive integers, got '${value}'`);
  }
  return [nums[0]!, nums[1] ?? nums[0]!];
}

/** "N,C,H,W" -> dims. */
export function parseShape(value: string, flag = '--shape'): number[] {
  const parts = value.split(',').map((s) => s.trim());
  const nums = parts.map(Number);
  if (parts.length === 0 || !nums.every((n) => Number.isSafeInteger(n) && n > 0)) {
    throw new UsageError(
      `${flag} must be comma-separated positive integers such as 1,3,224,224, got '${value}'`,
    );
  }
  return nums;
}

export function parseIntFlag(value: string, flag: string): number {
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n < 0)
    throw new UsageError(`${flag} must be a non-negative integer, got '${value}'`);
  return n;
}

export function parsePositiveInt(value: string, flag: string): number {
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n < 1)
    throw new UsageError(`${flag} must be a positive integer, got '${value}'`);
  return n;
}

/** Threads for a runtime's pools: more than this is a mistake, not a machine (it only costs memory). */
export const MAX_THREADS = 256;

export function parseThreads(value: string): number {
  const n = parsePositiveInt(value, '--threads');
  if (n > MAX_THREADS) throw new UsageError(`--threads must be at most ${MAX_THREADS}, got ${n}`);
  return n;
}

/** Parses one command's arguments strictly; unknown flags are usage errors. */
export const parse = parseInternal;
