import { shapeSize, stridesOf } from '@cardinal/core';
import type { BindingSlot, KernelSource, RenderLimits } from './kernel.js';
import { entryPoint, f32Literal, pickWorkgroupSize, storage, u32Literal } from './kernel.js';
import { chunksOf, REDUCE_CHUNK, renderCombineParts } from './partials.js';

// Kernels that compute each output element from a computed set of input elements, for the
// ops an imported graph brings (reductions over any axes, batched matmul, padding, constants):
// one invocation per output element, every shape baked in.

const U = u32Literal;

/** WGSL that splits flat index `v` of `shape` into `<name>0..` coordinates. */
function coords(name: string, v: string, shape: readonly number[]): string {
  const strides = stridesOf(shape);
  return shape.map((d, i) => `  let ${name}${i} = (${v} / ${U(strides[i]!)}) % ${U(d)};`).join('\n');
}

function kernel(
  kind: string,
  inputs: number,
  invocations: number,
  body: string,
  limits: RenderLimits,
  constant?: string,
): KernelSource {
  const wg = pickWorkgroupSize(limits);
  const names = constant ? [constant] : ['x', 'b'].slice(0, inputs);
  const decl = [...names.map((n, i) => storage(i, n, 'read')), storage(names.length, 'y', 'read_write')];
  const bindings: BindingSlot[] = [
    ...(constant
      ? [{ kind: 'constant' as const, name: constant }]
      : names.map((_, i): BindingSlot => ({ kind: 'tensor', role: 'input', index: i }))),
    { kind: 'tensor', role: 'output', index: 0 },
  ];
  return {
    kind,
    wgsl: `${decl.join('\n')}\n${entryPoint(wg, invocations, limits, body)}`,
    bindings,
    invocations,
    workgroupSize: wg,
  };
}

/** How many partial results a reduction of `count` values per output takes (1: none; partials.ts). */
export const reduceChunks = (count: number) => (count > REDUCE_CHUNK ? chunksOf(count) : 1);

/**
 * A reduction over `axes` of x: invocation (output o, chunk q) reduces chunk q of o's values,
 * writing [outputs * chunks]. With one chunk this is the whole reduction (the mean divided);
 * otherwise `renderReduceFinish` combines the chunks.
 */
export function renderReduce(
  p: { shape: readonly number[]; axes: readonly number[]; mode: 'sum' | 'mean' | 'max' },
  limits: RenderLimits,
): KernelSource {
  const kept = p.shape.map((d, i) => (p.axes.includes(i) ? 1 : d));
  const strides = stridesOf(p.shape);
  const count = shapeSize(p.axes.map((a) => p.shape[a]!));
  const chunks = reduceChunks(count);
  const invocations = shapeSize(kept) * chunks;
  const base = kept
    .map((d, i) => (d === 1 ? '' : `o${i} * ${U(strides[i]!)}`))
    .filter(Boolean)
    .join(' + ');
  // The reduced axes as one loop index r, split into their coordinates.
  const reducedShape = p.axes.map((a) => p.shape[a]!);
  const rStrides = stridesOf(reducedShape);
  const offset = p.axes.map(
    (a, k) => `((r / ${U(rStrides[k]!)}) % ${U(reducedShape[k]!)}) * ${U(strides[a]!)}`,
  );
  const init = p.mode === 'max' ? '-3.4028234663852886e+38' : '0.0';
  const acc = p.mode === 'max' ? 'a = max(a, v);' : 'a += v;';
  const whole = chunks === 1 && p.mode === 'mean';
  const body = `  let out = gid / ${U(chunks)};
  let r0 = (gid % ${U(chunks)}) * ${U(REDUCE_CHUNK)};
  let r1 = min(r0 + ${U(REDUCE_CHUNK)}, ${U(count)});
${coords('o', 'out', kept)}
  let base = ${base || '0u'};
  var a = ${init};
  for (var r = r0; r < r1; r++) {
    let v = x[base + ${offset.join(' + ')}];
    ${acc}
  }
  y[gid] = ${whole ? `a / ${f32Literal(count)}` : 'a'};`;
  return kernel(`reduce-${p.mode}`, 1, invocations, body, limits);
}

/** Combines a chunked reduction's partial results (input 0, [outputs * chunks]). */
export function renderReduceFinish(
  p: { outputs: number; count: number; mode: 'sum' | 'mean' | 'max' },
  limits: RenderLimits,
): KernelSource {
  return renderCombineParts(
    `reduce-${p.mode}-finish`,
    {
      outputs: p.outputs,
      parts: reduceChunks(p.count),
      mode: p.mode === 'max' ? 'max' : 'sum',
      ...(p.mode === 'mean' ? { finish: `s / ${f32Literal(p.count)}` } : {}),
    },
    limits,
  );
}

/** [..., M, K] x [..., K, N] with batch axes broadcast (same rank). */
export function renderMatMul(
  p: { a: readonly number[]; b: readonly number[]; out: readonly number[] },
  limits: RenderLimits,
): KernelSource {
  const r = p.out.length;
  const [m, k, n] = [p.a[r - 2]!, p.a[r - 1]!, p.b[r - 1]!];
  const batch = p.out.slice(0, r - 2);
  const term = (shape: readonly number[], mat: number) => {
    const s = stridesOf(shape.slice(0, r - 2));
    return batch
      .map((_, i) => (shape[i] === 1 ? '' : `o${i} * ${U(s[i]! * mat)}`))
      .filter(Boolean)
      .join(' + ');
  };
  const body = `${coords('o', `(gid / ${U(m * n)})`, batch)}
  let i = (gid / ${U(n)}) % ${U(m)};
  let j = gid % ${U(n)};
  let ab = ${term(p.a, m * k) || '0u'} + i * ${U(k)};
  let bb = ${term(p.b, k * n) || '0u'} + j;
  var s = 0.0;
  for (var t = 0u; t < ${U(k)}; t++) { s = fma(x[ab + t], b[bb + t * ${U(n)}], s); }
  y[gid] = s;`;
  return kernel('matMul', 2, shapeSize(p.out), body, limits);
}

/** Constant padding: an output element reads x where it lies inside, else `value`. */
export function renderPad(
  p: { shape: readonly number[]; pads: readonly number[]; value: number },
  limits: RenderLimits,
): KernelSource {
  const r = p.shape.length;
  const out = p.shape.map((d, i) => d + p.pads[i]! + p.pads[i + r]!);
  const strides = stridesOf(p.shape);
  const inside = p.shape.map((d, i) => `o${i} >= ${U(p.pads[i]!)} && o${i} < ${U(p.pads[i]! + d)}`);
  const src = p.shape.map((_, i) => `(o${i} - ${U(p.pads[i]!)}) * ${U(strides[i]!)}`);
  const body = `${coords('o', 'gid', out)}
  if (${inside.join(' && ')}) { y[gid] = x[${src.join(' + ')}]; } else { y[gid] = ${f32Literal(p.value)}; }`;
  return kernel('pad', 1, shapeSize(out), body, limits);
}

/** Copies a constant buffer (made once at compile time) into its tensor. */
export function renderConstant(size: number, limits: RenderLimits): KernelSource {
  return kernel('constant', 0, size, '  y[gid] = value[gid];', limits, 'value');
}
