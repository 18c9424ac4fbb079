/**
 * Element-wise work fused after a kernel's main computation: activations and a binary op
 * with another tensor (the residual add, the SE / attention scale). Operand `index` says how
 * the operand lines up with the output: the same shape, or one value per (n, c).
 */
export type EpilogueStep =
  | { op: 'activation'; act: Activation }
  | { op: BinaryOp; operand: number; index: 'full' | 'channel' };

export type BinaryOp = 'add' | 'mul' | 'sub' | 'div';
const SYMBOL: Record<BinaryOp, string> = { add: '+', mul: '*', sub: '-', div: '/' };

/**
 * An element-wise activation in WGSL: `expr` maps a value (f32 or vec4<f32>, `t`; `zero` is
 * 0.0 of that type) to an expression; `helper`, if any, is a function the expression calls,
 * emitted once per kernel. Each op's activation is declared with its lowering (lower/index.ts).
 */
export interface Activation {
  name: string;
  expr(v: string, zero: string): string;
  helper?(t: string, zero: string): string;
}

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
      case 'activation':
        v = s.act.expr(v, site.vec4 ? 'vec4<f32>(0.0)' : '0.0');
        break;
      default: {
        const idx = s.index === 'full' ? site.full : site.channel;
        v = `(${v} ${SYMBOL[s.op]} ${operandName(s.operand)}[${idx}])`;
        break;
      }
    }
  }
  return v;
}

/** The helper functions a kernel's epilogue calls, each once. */
export function epilogueHelpers(steps: readonly EpilogueStep[], vec4: boolean): string {
  const t = vec4 ? 'vec4<f32>' : 'f32';
  const zero = vec4 ? 'vec4<f32>(0.0)' : '0.0';
  const helpers = new Map<string, string>();
  for (const s of steps)
    if (s.op === 'activation' && s.act.helper) helpers.set(s.act.name, s.act.helper(t, zero));
  return [...helpers.values()].join('');
}

/** Element type of operand k's binding in a kernel whose values are `vec4` or scalar. */
export function operandType(step: EpilogueStep, vec4: boolean): string {
  return 'index' in step && step.index === 'full' && vec4 ? 'vec4<f32>' : 'f32';
}
