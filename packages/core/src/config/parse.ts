import type { z } from 'zod';
import { ConfigError } from '../errors.js';

/**
 * Upper bounds far beyond any published network of this family (resnet269 has 48 blocks in a
 * stage, the widest stage 2048 channels), so a malformed or hostile config cannot make the
 * builder spin or allocate without end.
 */
export const CONFIG_LIMITS = {
  blocksPerStage: 256,
  stages: 8,
  channels: 65_536,
  width: 4096,
  classes: 1_000_000,
  inChans: 1024,
  radix: 64,
  kernel: 15,
} as const;

/** One issue's message, cut short: an unknown-keys issue can list a million keys. */
function shortMessage(message: string): string {
  return message.length > 160 ? `${message.slice(0, 157)}...` : message;
}

/** Formats zod issues as one line: `source: path: message; path: message`, at most about 1 kB. */
export function formatIssues(source: string, error: z.ZodError): string {
  const parts = error.issues.slice(0, 5).map((i) => {
    const path = i.path.length ? i.path.slice(0, 8).map(String).join('.').slice(0, 120) : '<root>';
    return `${path}: ${shortMessage(i.message)}`;
  });
  return `${source}: ${parts.join('; ')}${error.issues.length > 5 ? ` (and ${error.issues.length - 5} more)` : ''}`;
}

/** No config object of this project has more keys than this; more is not a config. */
const MAX_KEYS = 256;

/** Refuses an object with absurdly many keys before zod lists every one of them as unknown. */
function checkKeyCount(value: unknown, source: string): void {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return;
  let n = 0;
  for (const _ in value) if (++n > MAX_KEYS) break;
  if (n > MAX_KEYS)
    throw new ConfigError(
      `${source}: more than ${MAX_KEYS} keys in one object; not a config this reader knows`,
    );
}

export function parseWith<S extends z.ZodType>(schema: S, value: unknown, source: string): z.output<S> {
  checkKeyCount(value, source);
  const r = schema.safeParse(value);
  if (!r.success) throw new ConfigError(formatIssues(source, r.error));
  return r.data;
}

/** `keep_3x3` -> `keep3x3`, `num_classes` -> `numClasses`: timm's argument names as TypeScript's. */
export type CamelCase<S extends string> = S extends `${infer H}_${infer T}`
  ? `${H}${Capitalize<CamelCase<T>>}`
  : S;

/** An object type with every key camelCased, nested objects too (arrays kept as they are). */
export type DeepCamel<T> = T extends readonly unknown[]
  ? T
  : T extends object
    ? { [K in keyof T as K extends string ? CamelCase<K> : K]: DeepCamel<T[K]> }
    : T;

export const camelCase = (key: string): string =>
  key.replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase());

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Renames every key of an object, nested objects too, and drops undefined values. */
export function renameKeysDeep(value: unknown, rename: (key: string) => string): unknown {
  if (!isPlainObject(value)) return value;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) if (v !== undefined) out[rename(k)] = renameKeysDeep(v, rename);
  return out;
}

/** The inverse of camelCase for the keys a set of schemas declares (so `keep3x3` -> `keep_3x3`). */
export function snakeKeys(...shapes: Record<string, unknown>[]): (key: string) => string {
  const map = new Map<string, string>();
  for (const shape of shapes) for (const k of Object.keys(shape)) map.set(camelCase(k), k);
  return (key) => map.get(key) ?? key;
}
