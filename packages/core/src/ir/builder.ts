import { type CostLimits, CostMeter, resolveCostLimits } from '../cost.js';
import { GraphError, ShapeError } from '../errors.js';
import { getOp, resolveNodeAttrs } from '../ops/registry.js';
import type { AttrsOf } from './attrs.js';
import type { Attrs, Graph, GraphNode, NodeOf, OpName, ParamSpec, TensorSpec } from './graph.js';

/** A tensor being built: its name in the graph and its static shape. */
export interface SymbolicTensor {
  readonly name: string;
  readonly shape: readonly number[];
}

export type Pair = number | readonly [number, number];
/** A symmetric [h, w] pair or explicit [top, left, bottom, right]. */
export type Padding = number | readonly [number, number] | readonly [number, number, number, number];

export interface Conv2dOptions {
  outChannels: number;
  kernel: Pair;
  stride?: Pair;
  padding?: Padding;
  dilation?: Pair;
  groups?: number;
  bias?: boolean;
}

export interface Conv1dOptions {
  outChannels: number;
  kernel: number;
  stride?: number;
  /** Symmetric, or [begin, end]. */
  padding?: number | readonly [number, number];
  dilation?: number;
  groups?: number;
  bias?: boolean;
}

/** The normalisation `norm()` emits: BatchNorm2d, or timm's GroupNorm with its group count. */
export type NormLayer = { kind: 'batchnorm' } | { kind: 'groupnorm'; groups: number };

export interface PoolOptions {
  kernel: Pair;
  stride?: Pair;
  padding?: Padding;
  ceilMode?: boolean;
  /** avgPool only; PyTorch's default is true. */
  countIncludePad?: boolean;
}

function pair(v: Pair): [number, number] {
  return typeof v === 'number' ? [v, v] : [v[0], v[1]];
}

function pads(v: Padding): [number, number, number, number] {
  if (typeof v === 'number') return [v, v, v, v];
  if (v.length === 2) return [v[0], v[1], v[0], v[1]];
  return [v[0], v[1], v[2], v[3]];
}

/**
 * Writes a Graph one primitive at a time. Module scopes give every node its PyTorch module
 * path and every parameter its state_dict key (`layer1.0.conv2.weight`); shapes are inferred
 * as nodes are added, so a mistake fails where it is made, naming the path.
 */
export class GraphBuilder {
  private readonly nodes: GraphNode[] = [];
  private readonly params: Record<string, ParamSpec> = {};
  private readonly tensors: Record<string, TensorSpec> = {};
  private readonly inputs: TensorSpec[] = [];
  private readonly outputs: string[] = [];
  private readonly scopes: string[] = [];
  private readonly nodeNames = new Set<string>();
  private readonly cost: CostMeter;
  /** What `norm()` emits (the model's norm_layer). */
  normLayer: NormLayer = { kind: 'batchnorm' };
  /**
   * Output channels by conv module path, over what the builder asks for: timm's pruned models,
   * whose every conv has its own width.
   */
  convWidths: Readonly<Record<string, number>> | undefined;

  /** `limits` bound parameters, activations and nodes (DEFAULT_COST_LIMITS when omitted). */
  constructor(
    readonly name: string,
    limits?: Partial<CostLimits>,
  ) {
    this.cost = new CostMeter(resolveCostLimits(limits), name);
  }

  /** The module path of `child` inside the current scope. */
  path(child?: string | number): string {
    const parts = child === undefined ? this.scopes : [...this.scopes, String(child)];
    return parts.join('.');
  }

  /** Runs `fn` inside the submodule `name` (`layer1`, then `0`, then `conv2` ...). */
  scope<T>(name: string | number, fn: () => T): T {
    // An empty name is the root module itself (a block built on its own).
    if (name === '') return fn();
    this.scopes.push(String(name));
    try {
      return fn();
    } finally {
      this.scopes.pop();
    }
  }

  input(name: string, shape: readonly number[]): SymbolicTensor {
    if (Object.hasOwn(this.tensors, name)) throw new GraphError(`duplicate tensor name '${name}'`);
    if (!shape.every((d) => Number.isSafeInteger(d) && d > 0)) {
      throw new ShapeError(
        `input '${name}': every dimension must be a positive integer, got [${shape.join(', ')}]`,
      );
    }
    this.cost.addTensor(name, shape);
    const spec: TensorSpec = { name, shape: [...shape], dtype: 'float32' };
    this.inputs.push(spec);
    this.tensors[name] = spec;
    return { name, shape: spec.shape };
  }

  output(t: SymbolicTensor): void {
    this.outputs.push(t.name);
  }

  /**
   * Adds one node of any registered op. Attributes left out take the op's declared defaults.
   * Parameters are named `<path>.<role>`.
   */
  node<O extends OpName>(
    op: O,
    inputs: readonly SymbolicTensor[],
    rawAttrs: Partial<AttrsOf<O>> | Attrs,
    module?: string | number,
  ): SymbolicTensor[] {
    const def = getOp(op);
    const path = this.path(module);
    const ctx = { path: path || '<root>' };
    if (inputs.length < def.arity[0] || inputs.length > def.arity[1]) {
      throw new GraphError(
        `${ctx.path}: ${op} takes ${def.arity[0]}..${def.arity[1]} inputs, got ${inputs.length}`,
      );
    }
    const attrs = resolveNodeAttrs(op, rawAttrs as Attrs, ctx);
    const inShapes = inputs.map((t) => t.shape);
    const outShapes = def.inferShapes(inShapes, attrs, ctx);
    const name = this.uniqueNodeName(module === undefined ? `${path ? `${path}.` : ''}${op}` : path);
    this.cost.addNode(name);
    const params: Record<string, string> = {};
    for (const req of def.params(inShapes, attrs)) {
      const key = path ? `${path}.${req.role}` : req.role;
      if (Object.hasOwn(this.params, key))
        throw new GraphError(`${ctx.path}: parameter '${key}' is defined twice`);
      this.cost.addParam(key, req.shape);
      this.params[key] = { shape: req.shape, dtype: req.dtype, kind: req.kind, init: req.init };
      params[req.role] = key;
    }
    const outputs = outShapes.map((shape, i) => {
      const tname = outShapes.length === 1 ? name : `${name}:${i}`;
      this.cost.addTensor(tname, shape);
      this.tensors[tname] = { name: tname, shape, dtype: 'float32' };
      return tname;
    });
    const node: NodeOf<O> = { name, op, path, inputs: inputs.map((t) => t.name), outputs, attrs, params };
    this.nodes.push(node as GraphNode);
    return outputs.map((n, i) => ({ name: n, shape: outShapes[i]! }));
  }

  private uniqueNodeName(base: string): string {
    let name = base;
    for (let i = 2; this.nodeNames.has(name) || Object.hasOwn(this.tensors, name); i++) name = `${base}#${i}`;
    this.nodeNames.add(name);
    return name;
  }

  private one<O extends OpName>(
    op: O,
    inputs: readonly SymbolicTensor[],
    attrs: Partial<AttrsOf<O>>,
    module?: string | number,
  ): SymbolicTensor {
    return this.node(op, inputs, attrs, module)[0]!;
  }

  conv2d(x: SymbolicTensor, module: string | number, o: Conv2dOptions): SymbolicTensor {
    return this.one(
      'conv2d',
      [x],
      {
        outChannels: this.convWidths?.[this.path(module)] ?? o.outChannels,
        kernel: pair(o.kernel),
        stride: pair(o.stride ?? 1),
        padding: pads(o.padding ?? 0),
        dilation: pair(o.dilation ?? 1),
        groups: o.groups ?? 1,
        bias: o.bias ?? false,
      },
      module,
    );
  }

  /** BatchNorm2d; eps and momentum default as declared by the op (PyTorch's 1e-5 and 0.1). */
  batchNorm(x: SymbolicTensor, module: string | number, eps?: number): SymbolicTensor {
    return this.one('batchNorm', [x], eps === undefined ? {} : { eps }, module);
  }

  conv1d(x: SymbolicTensor, module: string | number, o: Conv1dOptions): SymbolicTensor {
    const p = o.padding ?? 0;
    return this.one(
      'conv1d',
      [x],
      {
        outChannels: o.outChannels,
        kernel: o.kernel,
        stride: o.stride ?? 1,
        padding: typeof p === 'number' ? [p, p] : [p[0], p[1]],
        dilation: o.dilation ?? 1,
        groups: o.groups ?? 1,
        bias: o.bias ?? false,
      },
      module,
    );
  }

  /** GroupNorm with `groups` groups (timm's GroupNorm: 32, eps 1e-5). */
  groupNorm(x: SymbolicTensor, module: string | number, groups = 32, eps?: number): SymbolicTensor {
    return this.one('groupNorm', [x], eps === undefined ? { groups } : { groups, eps }, module);
  }

  /** The model's normalisation layer (`normLayer`): BatchNorm2d unless the model says otherwise. */
  norm(x: SymbolicTensor, module: string | number): SymbolicTensor {
    return this.normLayer.kind === 'groupnorm'
      ? this.groupNorm(x, module, this.normLayer.groups)
      : this.batchNorm(x, module);
  }

  /** timm's BlurPool2d: reflect padding and a fixed binomial filter at `stride`. */
  blurPool(
    x: SymbolicTensor,
    o: { filterSize?: number; stride?: number },
    module?: string | number,
  ): SymbolicTensor {
    return this.one('blurPool', [x], { filterSize: o.filterSize ?? 3, stride: o.stride ?? 2 }, module);
  }

  /** Stochastic depth on a residual branch (training only). */
  dropPath(x: SymbolicTensor, rate: number, module?: string): SymbolicTensor {
    return this.one('dropPath', [x], { rate }, module);
  }

  /** DropBlock2d (training only). */
  dropBlock(
    x: SymbolicTensor,
    o: { rate: number; blockSize: number; gammaScale: number },
    module?: string,
  ): SymbolicTensor {
    return this.one('dropBlock', [x], { ...o }, module);
  }

  relu(x: SymbolicTensor, module?: string): SymbolicTensor {
    return this.one('relu', [x], {}, module);
  }

  sigmoid(x: SymbolicTensor, module?: string): SymbolicTensor {
    return this.one('sigmoid', [x], {}, module);
  }

  softmax(x: SymbolicTensor, axis: number, module?: string): SymbolicTensor {
    return this.one('softmax', [x], { axis }, module);
  }

  add(a: SymbolicTensor, b: SymbolicTensor, module?: string): SymbolicTensor {
    return this.one('add', [a, b], {}, module);
  }

  /** Sum of several tensors as a chain of adds. */
  sum(xs: readonly SymbolicTensor[], module?: string): SymbolicTensor {
    if (xs.length === 0) throw new ShapeError(`${this.path(module)}: sum of no tensors`);
    let acc = xs[0]!;
    for (const x of xs.slice(1)) acc = this.add(acc, x, module);
    return acc;
  }

  mul(a: SymbolicTensor, b: SymbolicTensor, module?: string): SymbolicTensor {
    return this.one('mul', [a, b], {}, module);
  }

  concat(xs: readonly SymbolicTensor[], axis: number, module?: string): SymbolicTensor {
    return this.one('concat', xs, { axis }, module);
  }

  split(x: SymbolicTensor, sizes: readonly number[], axis: number, module?: string): SymbolicTensor[] {
    return this.node('split', [x], { axis, sizes: [...sizes] }, module);
  }

  reshape(x: SymbolicTensor, shape: readonly number[], module?: string): SymbolicTensor {
    return this.one('reshape', [x], { shape: [...shape] }, module);
  }

  transpose(x: SymbolicTensor, perm: readonly number[], module?: string): SymbolicTensor {
    return this.one('transpose', [x], { perm: [...perm] }, module);
  }

  maxPool(x: SymbolicTensor, o: PoolOptions, module?: string): SymbolicTensor {
    return this.one(
      'maxPool',
      [x],
      {
        kernel: pair(o.kernel),
        stride: pair(o.stride ?? o.kernel),
        padding: pads(o.padding ?? 0),
        ceilMode: o.ceilMode ?? false,
      },
      module,
    );
  }

  avgPool(x: SymbolicTensor, o: PoolOptions, module?: string): SymbolicTensor {
    return this.one(
      'avgPool',
      [x],
      {
        kernel: pair(o.kernel),
        stride: pair(o.stride ?? o.kernel),
        padding: pads(o.padding ?? 0),
        ceilMode: o.ceilMode ?? false,
        countIncludePad: o.countIncludePad ?? true,
      },
      module,
    );
  }

  globalAvgPool(x: SymbolicTensor, module?: string): SymbolicTensor {
    return this.one('globalAvgPool', [x], {}, module);
  }

  flatten(x: SymbolicTensor, axis = 1, module?: string): SymbolicTensor {
    return this.one('flatten', [x], { axis }, module);
  }

  linear(x: SymbolicTensor, module: string | number, outFeatures: number, bias = true): SymbolicTensor {
    return this.one('linear', [x], { outFeatures, bias }, module);
  }

  build(): Graph {
    if (this.outputs.length === 0) throw new GraphError(`graph '${this.name}' has no outputs`);
    return {
      name: this.name,
      inputs: this.inputs.map((t) => ({ ...t, shape: [...t.shape] })),
      outputs: [...this.outputs],
      nodes: this.nodes.map((n) => ({ ...n })),
      params: { ...this.params },
      tensors: { ...this.tensors },
    };
  }
}
