/**
 * Element-wise work fused after a kernel's main computation: activations and a binary op
 * with another tensor (the residual add, the SE / attention scale). Operand `index` says how
 * the operand lines up with the output: the same shape, or one value per (n, c).
 */
export type EpilogueStep =
  | { op: 'relu' | 'sigmoid' }
  | { op: 'add' | 'mul'; operand: number; index: 'full' | 'channel' };

/** How a kernel addresses the element it is finishing. */
export interface EpilogueSite {
  /** Element (or vec4) index into a full-shaped operand. */
  full: string;
  /** Index of (n, c) into a channel-shaped operand. */
  channel: string;
  /** Whether the value is a vec4 of four consecutive elements of one channel. */
  vec4: boolean;
}

/** WGSL name of fused operand k. */
export const operandName = (k: number) => `opnd${k}`;

/** Applies the steps to `value`, returning a WGSL expression. */
export function renderEpilogue(value: string, steps: readonly EpilogueStep[], site: EpilogueSite): string {
  let v = value;
  for (const s of steps) {
    switch (s.op) {
      case 'relu':
        v = `max(${v}, ${site.vec4 ? 'vec4<f32>(0.0)' : '0.0'})`;
        break;
      case 'sigmoid':
        v = `sigmoid_(${v})`;
        break;
      case 'add':
      case 'mul': {
        const idx = s.index === 'full' ? site.full : site.channel;
        const o = `${operandName(s.operand)}[${idx}]`;
        v = `(${v} ${s.op === 'add' ? '+' : '*'} ${o})`;
        break;
      }
    }
  }
  return v;
}

/**
 * Helpers a kernel includes when its epilogue uses them. The sigmoid is written so that
 * neither branch overflows: exp of a non-positive number only.
 */
export function epilogueHelpers(steps: readonly EpilogueStep[], vec4: boolean): string {
  if (!steps.some((s) => s.op === 'sigmoid')) return '';
  const t = vec4 ? 'vec4<f32>' : 'f32';
  return `fn sigmoid_(x: ${t}) -> ${t} {
  let e = exp(-abs(x));
  return select(e / (1.0 + e), 1.0 / (1.0 + e), x >= ${vec4 ? 'vec4<f32>(0.0)' : '0.0'});
}
`;
}

/** Element type of operand k's binding in a kernel whose values are `vec4` or scalar. */
export function operandType(step: EpilogueStep, vec4: boolean): string {
  return 'index' in step && step.index === 'full' && vec4 ? 'vec4<f32>' : 'f32';
}
