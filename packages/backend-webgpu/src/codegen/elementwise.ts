import { shapeSize, stridesOf } from '@cardinal/core';
import { type EpilogueStep, epilogueHelpers, operandName, renderEpilogue } from './epilogue.js';
import type { BindingSlot, KernelSource, RenderLimits } from './kernel.js';
import { entryPoint, pickWorkgroupSize, storage, u32Literal } from './kernel.js';

/**
 * A chain of element-wise ops over an output of `shape`: the value starts as operand 0 and
 * each step applies an activation or a binary op with another operand. Operands broadcast
 * into the output (an axis of 1 repeats). One kernel replaces the whole chain, e.g. the SE
 * scale, the residual add and the ReLU after it.
 */
export interface ElementwiseProblem {
  shape: readonly number[];
  operandShapes: readonly (readonly number[])[];
  steps: readonly EpilogueStep[];
}

/** WGSL index into an operand of `opShape` broadcast to `shape`, for flat output index `gid`. */
export function broadcastIndex(shape: readonly number[], opShape: readonly number[]): string {
  const U = u32Literal;
  const size = shapeSize(shape);
  const opSize = shapeSize(opShape);
  if (opSize === size) return 'gid';
  if (opSize === 1) return '0u';
  const outStrides = stridesOf(shape);
  const opStrides = stridesOf(opShape);
  // A trailing run of broadcast axes (N,C,1,1 against N,C,H,W) is one division.
  let k = shape.length;
  while (k > 0 && opShape[k - 1] === 1) k--;
  const leadingSame = opShape.slice(0, k).every((d, i) => d === shape[i]);
  if (leadingSame) return `(gid / ${U(outStrides[k - 1]!)})`;
  const terms: string[] = [];
  shape.forEach((d, i) => {
    if (opShape[i] === 1 || d === 1) return;
    terms.push(`((gid / ${U(outStrides[i]!)}) % ${U(d)}) * ${U(opStrides[i]!)}`);
  });
  return terms.length ? terms.join(' + ') : '0u';
}

export function renderElementwise(p: ElementwiseProblem, limits: RenderLimits): KernelSource {
  const invocations = shapeSize(p.shape);
  const wg = pickWorkgroupSize(limits);
  const operandCount = p.operandShapes.length;
  const decl = [
    ...p.operandShapes.map((_, k) => storage(k, operandName(k), 'read')),
    storage(operandCount, 'y', 'read_write'),
  ];
  // The renderer's epilogue addresses operands by flat index; each operand gets its own.
  let value = `${operandName(0)}[${broadcastIndex(p.shape, p.operandShapes[0]!)}]`;
  for (const s of p.steps) {
    const site = {
      full: 'operand' in s ? broadcastIndex(p.shape, p.operandShapes[s.operand]!) : 'gid',
      channel: 'gid',
      vec4: false,
    };
    value = renderEpilogue(value, [s.op === 'activation' ? s : { ...s, index: 'full' }], site);
  }
  const bindings: BindingSlot[] = [
    ...p.operandShapes.map((_, k): BindingSlot => ({ kind: 'tensor', role: 'operand', index: k })),
    { kind: 'tensor', role: 'output', index: 0 },
  ];
  return {
    kind: 'elementwise',
    wgsl: `${decl.join('\n')}\n${epilogueHelpers(p.steps, false)}${entryPoint(wg, invocations, limits, `  y[gid] = ${value};`)}`,
    bindings,
    invocations,
    workgroupSize: wg,
  };
}

/** y = x * scale[c] + shift[c]: an eval-mode BatchNorm that had no conv to fold into. */
export function renderChannelAffine(
  p: { shape: readonly number[]; epilogue: readonly EpilogueStep[] },
  limits: RenderLimits,
): KernelSource {
  const invocations = shapeSize(p.shape);
  const wg = pickWorkgroupSize(limits);
  const c = p.shape[1] ?? 1;
  const inner = shapeSize(p.shape.slice(2));
  const U = u32Literal;
  const ch = `((gid / ${U(inner)}) % ${U(c)})`;
  const value = renderEpilogue(`fma(x[gid], scale[${ch}], shift[${ch}])`, p.epilogue, {
    full: 'gid',
    channel: `(gid / ${U(inner)})`,
    vec4: false,
  });
  const operands = p.epilogue.flatMap((s) => ('operand' in s ? [s] : []));
  const decl = [
    storage(0, 'x', 'read'),
    storage(1, 'scale', 'read'),
    storage(2, 'shift', 'read'),
    ...operands.map((s, i) => storage(3 + i, operandName(s.operand), 'read')),
    storage(3 + operands.length, 'y', 'read_write'),
  ];
  return {
    kind: 'batchNorm',
    wgsl: `${decl.join('\n')}\n${epilogueHelpers(p.epilogue, false)}${entryPoint(wg, invocations, limits, `  y[gid] = ${value};`)}`,
    bindings: [
      { kind: 'tensor', role: 'input', index: 0 },
      { kind: 'constant', name: 'scale' },
      { kind: 'constant', name: 'shift' },
      ...operands.map((_, i): BindingSlot => ({ kind: 'tensor', role: 'operand', index: i })),
      { kind: 'tensor', role: 'output', index: 0 },
    ],
    invocations,
    workgroupSize: wg,
  };
}
