import { describe, expect, it } from 'vitest';
import { GraphBuilder, poolOutLength, runReference, type Tensor } from '../src/index.js';

/** Runs one op on one input through the reference executor. */
function run1(
  build: (b: GraphBuilder, x: ReturnType<GraphBuilder['input']>) => ReturnType<GraphBuilder['input']>,
  x: Tensor,
  params = new Map(),
) {
  const b = new GraphBuilder('op');
  const i = b.input('input', x.shape);
  b.output(build(b, i));
  const g = b.build();
  return runReference(g, params, { input: x })[g.outputs[0]!]!;
}

const t = (shape: number[], values: number[]): Tensor => ({ shape, data: Float32Array.from(values) });

describe('reference kernels on hand-computed values', () => {
  const x = t([1, 1, 3, 3], [1, 2, 3, 4, 5, 6, 7, 8, 9]);

  it('conv2d with padding, stride, bias and groups', () => {
    const w = new Map([
      ['c.weight', t([2, 1, 2, 2], [1, 0, 0, 1, 0, 1, 1, 0])],
      ['c.bias', t([2], [0.5, -1])],
    ]);
    const x2 = t([1, 2, 3, 3], [1, 2, 3, 4, 5, 6, 7, 8, 9, 9, 8, 7, 6, 5, 4, 3, 2, 1]);
    const y = run1(
      (b, i) => b.conv2d(i, 'c', { outChannels: 2, kernel: 2, stride: 2, padding: 1, groups: 2, bias: true }),
      x2,
      w,
    );
    // Expected: torch.nn.functional.conv2d(x, w, b, stride=2, padding=1, groups=2), torch 1.13.
    expect(y.shape).toEqual([1, 2, 2, 2]);
    expect([...y.data]).toEqual([1.5, 3.5, 7.5, 14.5, -1, 7, 5, 5]);
  });

  it('dilated conv', () => {
    const w = new Map([['c.weight', t([1, 1, 2, 2], [1, 1, 1, 1])]]);
    const y = run1((b, i) => b.conv2d(i, 'c', { outChannels: 1, kernel: 2, dilation: 2 }), x, w);
    expect([...y.data]).toEqual([1 + 3 + 7 + 9]);
  });

  it('maxPool with padding and ceil mode (PyTorch drops a window starting in the padding)', () => {
    // Output sizes as torch.nn.MaxPool2d(k, s, p, ceil_mode=True) gives them (torch 1.13).
    expect(poolOutLength(3, 2, 2, 0, 0, 1, true)).toBe(2);
    expect(poolOutLength(4, 3, 2, 1, 1, 1, true)).toBe(3);
    expect(poolOutLength(5, 2, 2, 1, 1, 1, true)).toBe(3); // ceil gives 4, but that window starts in the padding
    const y = run1((b, i) => b.maxPool(i, { kernel: 2, stride: 2, ceilMode: true }), x);
    expect([...y.data]).toEqual([5, 6, 8, 9]);
  });

  it('avgPool: count_include_pad and ceil mode divisors as PyTorch', () => {
    const excl = run1(
      (b, i) => b.avgPool(i, { kernel: 2, stride: 2, ceilMode: true, countIncludePad: false }),
      x,
    );
    expect([...excl.data]).toEqual([3, 4.5, 7.5, 9]);
    // Expected values: torch.nn.AvgPool2d with the same arguments (torch 1.13), float32.
    // count_include_pad=True counts padding but not the ceil-mode overhang beyond it.
    const incl = run1((b, i) => b.avgPool(i, { kernel: 3, stride: 2, padding: 1, countIncludePad: true }), x);
    expect([...incl.data]).toEqual([
      1.3333333730697632, 1.7777777910232544, 2.6666667461395264, 3.1111111640930176,
    ]);
    const inclCeil = run1(
      (b, i) => b.avgPool(i, { kernel: 2, stride: 2, ceilMode: true, countIncludePad: true }),
      x,
    );
    expect([...inclCeil.data]).toEqual([3, 4.5, 7.5, 9]);
    const x4 = t(
      [1, 1, 4, 4],
      Array.from({ length: 16 }, (_, i) => i + 1),
    );
    const overhang = run1(
      (b, i) => b.avgPool(i, { kernel: 3, stride: 2, padding: 1, ceilMode: true, countIncludePad: true }),
      x4,
    );
    expect([...overhang.data]).toEqual([
      1.5555555820465088, 3.3333332538604736, 2.0, 6.333333492279053, 11.0, 6.0, 4.5, 7.5, 4.0,
    ]);
  });

  it('softmax over an inner axis, transpose and reshape', () => {
    const v = t([1, 2, 2], [0, Math.log(3), 1, 1]);
    const y = run1((b, i) => b.softmax(i, 1), v);
    // torch.softmax(x, 1): columns (0, 1) and (ln 3, 1).
    const torchValues = [0.2689414322376251, 0.5246331691741943, 0.7310585975646973, 0.47536689043045044];
    for (const [i, v] of torchValues.entries()) expect(y.data[i]).toBeCloseTo(v, 6);
    const tr = run1(
      (b, i) => b.reshape(b.transpose(i, [0, 2, 1]), [0, -1]),
      t([1, 2, 3], [1, 2, 3, 4, 5, 6]),
    );
    expect(tr.shape).toEqual([1, 6]);
    expect([...tr.data]).toEqual([1, 4, 2, 5, 3, 6]);
  });

  it('split, concat, add and mul with N,C,1,1 broadcast', () => {
    const v = t([1, 4, 1, 2], [1, 2, 3, 4, 5, 6, 7, 8]);
    const y = run1((b, i) => {
      const [p, q] = b.split(i, [1, 3], 1);
      const s = b.globalAvgPool(q!);
      return b.concat([b.mul(q!, s), b.add(p!, p!)], 1);
    }, v);
    expect([...y.data]).toEqual([3 * 3.5, 4 * 3.5, 5 * 5.5, 6 * 5.5, 7 * 7.5, 8 * 7.5, 2, 4]);
  });

  it('linear and flatten', () => {
    const w = new Map([
      ['fc.weight', t([2, 3], [1, 0, -1, 2, 2, 2])],
      ['fc.bias', t([2], [0, 1])],
    ]);
    const y = run1((b, i) => b.linear(b.flatten(i), 'fc', 2), t([1, 3, 1, 1], [1, 2, 3]), w);
    expect([...y.data]).toEqual([-2, 13]);
  });
});
