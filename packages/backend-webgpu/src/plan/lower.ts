import {
  dispatchOp,
  type Graph,
  type OpTable,
  requireParam,
  shapeSize,
  type WeightMap,
} from '@cardinal/core';
import type { ConvTiling } from '../codegen/conv.js';
import type { KernelSource, RenderLimits } from '../codegen/kernel.js';
import { type GroupContext, LOWER } from '../lower/index.js';
import { LOWER_TRAINING } from '../lower/train.js';
import { type FusedGroup, fuseEpilogues } from './fuse.js';

/** A constant buffer of a step: packed once, shared by every plan that asks for its key. */
export interface PlanConstant {
  key: string;
  make: () => Float32Array;
  /**
   * The parameters (state_dict keys) `make` may read: set by lowerGraph to the head node's, so
   * a training executable rewrites only the constants whose parameters changed.
   */
  params?: readonly string[];
}

/** One dispatch: a kernel and the tensors and constants bound to it. */
export interface PlanStep {
  /** The module path of the node that heads the kernel, for profiles and errors. */
  path: string;
  kernel: KernelSource;
  inputs: string[];
  operands: string[];
  output: string;
  constants: Record<string, PlanConstant>;
}

export interface Plan {
  steps: PlanStep[];
  /** Views: a reshape's output is its input's storage. Maps a tensor to the tensor it views. */
  aliases: Map<string, string>;
  /** Byte size of every tensor's storage. */
  sizes: Map<string, number>;
  inputs: { name: string; shape: number[] }[];
  outputs: { name: string; shape: number[] }[];
}

/**
 * Lowers a graph (BatchNorm already folded, shapes static) to a list of kernels. Code
 * generation is the renderers' job; this decides what each kernel covers and what it binds.
 */
export interface LowerOptions {
  /** Force a conv tiling (benchmarks); default: chosen per conv by shape. */
  convTiling?: Partial<ConvTiling>;
}

/** Every op's lowering: the forward ops' and the training ops' (core's trainingGraph emits those). */
const LOWER_ALL: OpTable<[GroupContext], PlanStep[]> = { ...LOWER, ...LOWER_TRAINING };

export function lowerGraph(
  graph: Graph,
  weights: WeightMap,
  limits: RenderLimits,
  options: LowerOptions = {},
): Plan {
  const shape = (t: string) => graph.tensors[t]!.shape;
  const groups = fuseEpilogues(graph, limits.maxStorageBuffersPerStage);
  const aliases = new Map<string, string>();
  const scratch = new Map<string, readonly number[]>();
  const steps: PlanStep[] = [];
  for (const g of groups) steps.push(...lowerGroup(g));
  const root = (t: string): string => {
    let r = t;
    while (aliases.has(r)) r = aliases.get(r)!;
    return r;
  };
  const sizes = new Map<string, number>();
  for (const [name, s] of [
    ...Object.entries(graph.tensors).map(([t, spec]) => [t, spec.shape] as const),
    ...scratch,
  ]) {
    const r = root(name);
    sizes.set(r, Math.max(sizes.get(r) ?? 0, shapeSize(s) * 4));
  }
  return {
    steps,
    aliases,
    sizes,
    inputs: graph.inputs.map((i) => ({ name: i.name, shape: [...i.shape] })),
    outputs: graph.outputs.map((o) => ({ name: o, shape: [...shape(o)] })),
  };

  function lowerGroup(g: FusedGroup): PlanStep[] {
    const n = g.head;
    // Every constant's make reads the head's parameters (c.weight) or nothing.
    const params = Object.values(n.params);
    return dispatchOp(LOWER_ALL, n, {
      group: g,
      shape,
      step: (kernel, { constants = {}, ...extra } = {}) => ({
        path: n.path || n.name,
        kernel,
        inputs: [n.inputs[0]!],
        operands: g.operands,
        output: g.output,
        ...extra,
        constants: Object.fromEntries(Object.entries(constants).map(([k, c]) => [k, { ...c, params }])),
      }),
      weight: (role) => requireParam(weights, n, role).data,
      limits,
      options,
      alias: (view, of) => aliases.set(view, of),
      scratch: (suffix, s) => {
        const name = `${n.name}::${suffix}`;
        scratch.set(name, s);
        return name;
      },
    });
  }
}
