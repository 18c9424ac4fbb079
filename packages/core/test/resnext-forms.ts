import {
  type Graph,
  GraphBuilder,
  type SymbolicTensor,
  type Tensor,
  WeightLoadError,
  type WeightMap,
} from '../src/index.js';

/**
 * The three equivalent forms of the ResNeXt block (Xie et al. 2017, Fig. 3):
 * (A) `cardinality` separate paths 1x1 -> 3x3 -> 1x1, summed;
 * (B) paths 1x1 -> 3x3, concatenated, then one 1x1;
 * (C) one grouped 3x3 conv.
 * Each conv is followed by BatchNorm; the 3x3 conv may carry a bias. A study of the paper's
 * equivalence (kept with the tests that prove it), not part of the library.
 */
export interface ResNeXtFormOptions {
  inChannels?: number;
  cardinality?: number;
  /** Channels of each path (the bottleneck width d). */
  width?: number;
  outChannels?: number;
  bias3x3?: boolean;
}

type Resolved = Required<ResNeXtFormOptions>;

function resolve(o: ResNeXtFormOptions): Resolved {
  return { inChannels: 256, cardinality: 32, width: 4, outChannels: 256, bias3x3: true, ...o };
}

/** `paths.N`: 1x1 (bn, relu) -> 3x3 (bias, bn, relu), then `tail` within the same path scope. */
function pathHeads(
  b: GraphBuilder,
  input: SymbolicTensor,
  o: Resolved,
  tail: (y: SymbolicTensor) => SymbolicTensor,
): SymbolicTensor[] {
  return b.scope('paths', () =>
    Array.from({ length: o.cardinality }, (_, i) =>
      b.scope(i, () => {
        let y = b.relu(
          b.batchNorm(b.conv2d(input, 'conv1', { outChannels: o.width, kernel: 1 }), 'bn1'),
          'act1',
        );
        y = b.conv2d(y, 'conv2', { outChannels: o.width, kernel: 3, padding: 1, bias: o.bias3x3 });
        return tail(b.relu(b.batchNorm(y, 'bn2'), 'act2'));
      }),
    ),
  );
}

function finish(b: GraphBuilder, x: SymbolicTensor, input: SymbolicTensor): SymbolicTensor {
  return b.relu(b.add(x, input, 'add'), 'act');
}

export function resnextBlockA(
  b: GraphBuilder,
  input: SymbolicTensor,
  options: ResNeXtFormOptions = {},
): SymbolicTensor {
  const o = resolve(options);
  // Each path: the shared 1x1 -> 3x3 head, then its own 1x1 and BatchNorm back to the output width.
  const paths = pathHeads(b, input, o, (y) =>
    b.batchNorm(b.conv2d(y, 'conv3', { outChannels: o.outChannels, kernel: 1 }), 'bn3'),
  );
  return finish(b, b.sum(paths, 'sum'), input);
}

export function resnextBlockB(
  b: GraphBuilder,
  input: SymbolicTensor,
  options: ResNeXtFormOptions = {},
): SymbolicTensor {
  const o = resolve(options);
  const paths = pathHeads(b, input, o, (y) => y);
  const cat = b.concat(paths, 1, 'concat');
  return finish(
    b,
    b.batchNorm(b.conv2d(cat, 'conv3', { outChannels: o.outChannels, kernel: 1 }), 'bn3'),
    input,
  );
}

export function resnextBlockC(
  b: GraphBuilder,
  input: SymbolicTensor,
  options: ResNeXtFormOptions = {},
): SymbolicTensor {
  const o = resolve(options);
  const d = o.width * o.cardinality;
  let y = b.relu(b.batchNorm(b.conv2d(input, 'conv1', { outChannels: d, kernel: 1 }), 'bn1'), 'act1');
  y = b.conv2d(y, 'conv2', { outChannels: d, kernel: 3, padding: 1, groups: o.cardinality, bias: o.bias3x3 });
  y = b.relu(b.batchNorm(y, 'bn2'), 'act2');
  return finish(
    b,
    b.batchNorm(b.conv2d(y, 'conv3', { outChannels: o.outChannels, kernel: 1 }), 'bn3'),
    input,
  );
}

/** A graph holding one block of the given form, input [N, inChannels, H, W]. */
export function resnextFormGraph(
  form: 'A' | 'B' | 'C',
  options: ResNeXtFormOptions = {},
  inputShape?: readonly number[],
): Graph {
  const o = resolve(options);
  const b = new GraphBuilder(`resnext_block_${form}`);
  const x = b.input('input', inputShape ?? [1, o.inChannels, 8, 8]);
  const fn = form === 'A' ? resnextBlockA : form === 'B' ? resnextBlockB : resnextBlockC;
  b.output(fn(b, x, o));
  return b.build();
}

const BN_KEYS = ['weight', 'bias', 'running_mean', 'running_var'] as const;

function get(w: WeightMap, key: string): Tensor {
  const t = w.get(key);
  if (!t)
    throw new WeightLoadError(`missing weight '${key}'`, { missing: [key], unexpected: [], mismatched: [] });
  return t;
}

function concat(parts: Tensor[], shape: number[]): Tensor {
  const data = new Float32Array(parts.reduce((n, p) => n + p.data.length, 0));
  let off = 0;
  for (const p of parts) {
    data.set(p.data, off);
    off += p.data.length;
  }
  return { shape, data };
}

/**
 * A -> B: each path's final 1x1 conv and BatchNorm become one column block of B's conv3
 * (scaled by that BatchNorm's gamma / sqrt(var + eps)); their shifts add up in B's bn3, which
 * is left as a pure shift (mean 0, var 1 - eps, gamma 1).
 */
export function convertFormAToB(a: WeightMap, options: ResNeXtFormOptions = {}, eps = 1e-5): WeightMap {
  const o = resolve(options);
  const out: WeightMap = new Map();
  const conv3 = new Float32Array(o.outChannels * o.width * o.cardinality);
  const shift = new Float64Array(o.outChannels);
  const d = o.width * o.cardinality;
  for (let i = 0; i < o.cardinality; i++) {
    const p = `paths.${i}`;
    for (const k of ['conv1.weight', 'conv2.weight', ...(o.bias3x3 ? ['conv2.bias'] : [])])
      out.set(`${p}.${k}`, get(a, `${p}.${k}`));
    for (const bn of ['bn1', 'bn2'])
      for (const k of BN_KEYS) out.set(`${p}.${bn}.${k}`, get(a, `${p}.${bn}.${k}`));
    const w = get(a, `${p}.conv3.weight`).data;
    const [g, beta, mean, variance] = BN_KEYS.map((k) => get(a, `${p}.bn3.${k}`).data);
    for (let c = 0; c < o.outChannels; c++) {
      const s = g![c]! / Math.sqrt(variance![c]! + eps);
      for (let j = 0; j < o.width; j++) conv3[c * d + i * o.width + j] = w[c * o.width + j]! * s;
      shift[c]! += beta![c]! - mean![c]! * s;
    }
  }
  out.set('conv3.weight', { shape: [o.outChannels, d, 1, 1], data: conv3 });
  out.set('bn3.weight', { shape: [o.outChannels], data: new Float32Array(o.outChannels).fill(1) });
  out.set('bn3.bias', { shape: [o.outChannels], data: Float32Array.from(shift) });
  out.set('bn3.running_mean', { shape: [o.outChannels], data: new Float32Array(o.outChannels) });
  out.set('bn3.running_var', { shape: [o.outChannels], data: new Float32Array(o.outChannels).fill(1 - eps) });
  return out;
}

/** B -> C: the paths' 1x1 convs stack into one conv, their 3x3 convs into the groups of one grouped conv. */
export function convertFormBToC(bw: WeightMap, options: ResNeXtFormOptions = {}): WeightMap {
  const o = resolve(options);
  const d = o.width * o.cardinality;
  const paths = Array.from({ length: o.cardinality }, (_, i) => `paths.${i}`);
  const out: WeightMap = new Map();
  out.set(
    'conv1.weight',
    concat(
      paths.map((p) => get(bw, `${p}.conv1.weight`)),
      [d, o.inChannels, 1, 1],
    ),
  );
  out.set(
    'conv2.weight',
    concat(
      paths.map((p) => get(bw, `${p}.conv2.weight`)),
      [d, o.width, 3, 3],
    ),
  );
  if (o.bias3x3)
    out.set(
      'conv2.bias',
      concat(
        paths.map((p) => get(bw, `${p}.conv2.bias`)),
        [d],
      ),
    );
  for (const bn of ['bn1', 'bn2']) {
    for (const k of BN_KEYS)
      out.set(
        `${bn}.${k}`,
        concat(
          paths.map((p) => get(bw, `${p}.${bn}.${k}`)),
          [d],
        ),
      );
  }
  out.set('conv3.weight', get(bw, 'conv3.weight'));
  for (const k of BN_KEYS) out.set(`bn3.${k}`, get(bw, `bn3.${k}`));
  return out;
}
