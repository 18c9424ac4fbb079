import { GraphError } from '../errors.js';
import type { Attrs, AttrValue } from '../ir/graph.js';
import type { ShapeContext } from './op-def.js';

/**
 * One attribute's declaration: its kind, the length of a list, and its default (a value, or a
 * function of the attributes declared before it, as pooling's stride defaults to its kernel).
 */
export type AttrField<T> = {
  kind: T extends boolean ? 'bool' : T extends number ? 'int' | 'num' : 'ints';
  length?: number;
  default?: T | ((resolved: Record<string, unknown>) => T);
};

/** An op's attribute declaration: every attribute of A, with its kind and default. */
export type AttrSchema<A> = { [K in keyof A]-?: AttrField<A[K]> };

const int = (v: AttrValue | undefined): v is number => typeof v === 'number' && Number.isInteger(v);

/** A declaration as the resolver reads it, whatever attribute type it declares. */
interface AnyField {
  kind: 'int' | 'num' | 'bool' | 'ints';
  length?: number;
  default?: unknown;
}

function check(key: string, field: AnyField, v: AttrValue | undefined, ctx: ShapeContext): unknown {
  const bad = (want: string): never => {
    throw new GraphError(`${ctx.path}: attribute '${key}' must be ${want}, got ${JSON.stringify(v)}`);
  };
  switch (field.kind) {
    case 'int':
      return int(v) ? v : bad('an integer');
    case 'num':
      return typeof v === 'number' && Number.isFinite(v) ? v : bad('a number');
    case 'bool':
      return typeof v === 'boolean' ? v : bad('a boolean');
    default: {
      const ok =
        Array.isArray(v) &&
        v.every((x) => int(x)) &&
        (field.length === undefined || v.length === field.length);
      return ok
        ? [...v]
        : bad(field.length === undefined ? 'a list of integers' : `${field.length} integers`);
    }
  }
}

/**
 * Resolves raw attributes against an op's declaration: each declared attribute checked (or its
 * default filled in), any other attribute refused. Errors name the node's module path.
 */
export function resolveAttrs<A>(schema: AttrSchema<A>, raw: Attrs, ctx: ShapeContext, op: string): A {
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(raw)) {
    if (!Object.hasOwn(schema, key)) {
      const known = Object.keys(schema);
      throw new GraphError(
        `${ctx.path}: ${op} has no attribute '${key}'${known.length ? ` (it has ${known.join(', ')})` : ''}`,
      );
    }
  }
  for (const [key, f] of Object.entries(schema) as [string, AnyField][]) {
    const v = raw[key];
    if (v === undefined && f.default !== undefined) {
      const d =
        typeof f.default === 'function'
          ? (f.default as (r: Record<string, unknown>) => unknown)(out)
          : f.default;
      out[key] = Array.isArray(d) ? [...d] : d;
    } else out[key] = check(key, f, v, ctx);
  }
  return out as A;
}

/** The declaration of an op without attributes. (Ops generic over their name cast it to theirs.) */
export const NO_ATTRS: AttrSchema<Record<never, never>> = {};
