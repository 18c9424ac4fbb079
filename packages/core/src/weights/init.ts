import type { Graph, ParamSpec, WeightMap } from '../ir/graph.js';
import { normalSampler, mulberry32 as rng } from '../random.js';
import type { Tensor } from '../tensor.js';

/** FNV-1a, so each parameter's random stream depends on its name, not on graph order. */
function hashString(s: string, seed: number): number {
  let h = 0x811c9dc5 ^ seed;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/** One parameter's initial value; deterministic for a (name, seed) pair. */
export function initParam(name: string, spec: ParamSpec, seed = 0): Tensor {
  const size = spec.shape.reduce((a, b) => a * b, 1);
  const data = new Float32Array(size);
  const init = spec.init;
  if (init.kind === 'constant') {
    data.fill(init.value);
  } else if (init.kind === 'kaimingNormalFanOut') {
    // torch.nn.init.kaiming_normal_(mode='fan_out', nonlinearity='relu'): std = sqrt(2 / fan_out),
    // fan_out = out_channels * kh * kw, as torchvision and timm initialise convolutions.
    const fanOut = spec.shape[0]! * spec.shape.slice(2).reduce((a, b) => a * b, 1);
    const std = Math.sqrt(2 / fanOut);
    const normal = normalSampler(rng(hashString(name, seed)));
    for (let i = 0; i < size; i++) data[i] = normal() * std;
  } else {
    // PyTorch's default for Linear and conv biases: U(-1/sqrt(fan_in), 1/sqrt(fan_in)).
    const bound = 1 / Math.sqrt(init.fanIn);
    const uniform = rng(hashString(name, seed));
    for (let i = 0; i < size; i++) data[i] = (uniform() * 2 - 1) * bound;
  }
  return { shape: [...spec.shape], data };
}

/** Deterministic initial weights for every parameter and buffer of a graph. */
export function initWeights(graph: Graph, seed = 0): WeightMap {
  const weights: WeightMap = new Map();
  for (const [name, spec] of Object.entries(graph.params)) weights.set(name, initParam(name, spec, seed));
  return weights;
}

/**
 * Weights for tests, checks and runs without trained weights: initWeights, then every
 * BatchNorm given random affine parameters and running statistics (weight U(0.5, 1.5), bias
 * N(0, 0.2), running_mean N(0, 0.2), running_var U(0.6, 1.6), as the fixture generator does).
 * initWeights follows timm's training init, which zeroes the last BatchNorm of each residual
 * branch; with it every block is an identity and architectures that differ only inside their
 * blocks (ResNet-50, ResNeXt-50, SE-ResNeXt-50) give the same output. Here every block matters.
 */
export function initTestWeights(graph: Graph, seed = 0): WeightMap {
  const weights = initWeights(graph, seed);
  for (const node of graph.nodes) {
    if (node.op !== 'batchNorm') continue;
    const roles = node.params;
    const draw = (role: string, sample: (u: () => number, n: () => number) => number) => {
      const key = roles[role];
      const t = key === undefined ? undefined : weights.get(key);
      if (!key || !t) return;
      const uniform = rng(hashString(`${key}#test`, seed));
      const normal = normalSampler(uniform);
      for (let i = 0; i < t.data.length; i++) t.data[i] = sample(uniform, normal);
    };
    draw('weight', (u) => 0.5 + u());
    draw('bias', (_, n) => 0.2 * n());
    draw('running_mean', (_, n) => 0.2 * n());
    draw('running_var', (u) => 0.6 + u());
  }
  return weights;
}
