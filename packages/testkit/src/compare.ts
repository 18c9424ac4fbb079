import { shapesEqual, type Tensor } from '@cardinal/core';

export interface Comparison {
  pass: boolean;
  maxAbsDiff: number;
  atol: number;
  /** Index of the worst element. */
  worstIndex: number;
  shapeMatches: boolean;
}

/** The fixtures' pass rule: every element within atol (NaN fails). */
export function compareToExpected(actual: Tensor, expected: Tensor, atol: number): Comparison {
  const shapeMatches = shapesEqual(actual.shape, expected.shape);
  if (!shapeMatches)
    return { pass: false, maxAbsDiff: Number.POSITIVE_INFINITY, atol, worstIndex: -1, shapeMatches };
  let max = 0;
  let worst = 0;
  for (let i = 0; i < expected.data.length; i++) {
    const d = Math.abs(actual.data[i]! - expected.data[i]!);
    if (!(d <= max)) {
      max = Number.isNaN(d) ? Number.POSITIVE_INFINITY : d;
      worst = i;
    }
  }
  return { pass: max <= atol, maxAbsDiff: max, atol, worstIndex: worst, shapeMatches };
}
