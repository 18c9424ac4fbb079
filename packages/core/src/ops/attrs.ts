import { GraphError } from '../errors.js';
import type { Attrs } from '../ir/graph.js';
import type { ShapeContext } from './op-def.js';

/** Typed readers for node attributes, with errors that name the node's module path. */
export function intAttr(attrs: Attrs, key: string, ctx: ShapeContext, fallback?: number): number {
  const v = attrs[key];
  if (v === undefined && fallback !== undefined) return fallback;
  if (typeof v !== 'number' || !Number.isInteger(v)) {
    throw new GraphError(`${ctx.path}: attribute '${key}' must be an integer, got ${JSON.stringify(v)}`);
  }
  return v;
}

export function numAttr(attrs: Attrs, key: string, ctx: ShapeContext, fallback?: number): number {
  const v = attrs[key];
  if (v === undefined && fallback !== undefined) return fallback;
  if (typeof v !== 'number' || !Number.isFinite(v)) {
    throw new GraphError(`${ctx.path}: attribute '${key}' must be a number, got ${JSON.stringify(v)}`);
  }
  return v;
}

export function boolAttr(attrs: Attrs, key: string, ctx: ShapeContext, fallback?: boolean): boolean {
  const v = attrs[key];
  if (v === undefined && fallback !== undefined) return fallback;
  if (typeof v !== 'boolean') {
    throw new GraphError(`${ctx.path}: attribute '${key}' must be a boolean, got ${JSON.stringify(v)}`);
  }
  return v;
}

export function intsAttr(
  attrs: Attrs,
  key: string,
  ctx: ShapeContext,
  length?: number,
  fallback?: number[],
): number[] {
  const v = attrs[key];
  if (v === undefined && fallback !== undefined) return fallback;
  if (
    !Array.isArray(v) ||
    !v.every((x) => Number.isInteger(x)) ||
    (length !== undefined && v.length !== length)
  ) {
    const want = length === undefined ? 'a list of integers' : `${length} integers`;
    throw new GraphError(`${ctx.path}: attribute '${key}' must be ${want}, got ${JSON.stringify(v)}`);
  }
  return v;
}

const noCtx: ShapeContext = { path: '<attrs>' };

/** Attrs read without a path, for kernels whose attrs were already checked at build time. */
export const unchecked = noCtx;
