import { CostError } from './errors.js';
import type { Graph } from './ir/graph.js';

/**
 * Bounds on what one model may cost, checked while a graph is built (and for graph documents
 * after they are read), before any weight or activation is allocated. The defaults admit every
 * zoo model at 224x224 with batch 64 and resnext101_32x8d at 448 with room to spare (about 2x
 * on parameters, 10x on the largest tensor, 7x on all activations), and refuse a hundredfold
 * beyond. Lift them with `limits` in the build options (or CARDINAL_ALLOW_LARGE=1 in the CLI).
 */
export interface CostLimits {
  /** Parameter and buffer elements in all (float32: 4 bytes each). */
  maxParams: number;
  /** Elements of the largest single tensor (an input or one node's output). */
  maxTensorElements: number;
  /** Elements of all activations together (what a naive executor keeps alive at most). */
  maxActivationElements: number;
  /** Nodes in the graph. */
  maxNodes: number;
}

export const DEFAULT_COST_LIMITS: Readonly<CostLimits> = Object.freeze({
  // 2^28 (268M, 1 GiB of float32): timm's resnext101_32x32d (469M) needs larger limits
  // (CARDINAL_ALLOW_LARGE=1 in the CLI), as any model that size should ask for.
  maxParams: 2 ** 28,
  maxTensorElements: 2 ** 30,
  maxActivationElements: 2 ** 36,
  maxNodes: 100_000,
});

/** No limit at all: for callers who take the cost on themselves. */
export const NO_COST_LIMITS: Readonly<CostLimits> = Object.freeze({
  maxParams: Number.POSITIVE_INFINITY,
  maxTensorElements: Number.POSITIVE_INFINITY,
  maxActivationElements: Number.POSITIVE_INFINITY,
  maxNodes: Number.POSITIVE_INFINITY,
});

export function resolveCostLimits(limits: Partial<CostLimits> | undefined): CostLimits {
  return { ...DEFAULT_COST_LIMITS, ...limits };
}

/** 3.3e18 -> "3.3e+18", 123456 -> "123456": short and exact enough for a message. */
function count(n: number): string {
  return n < 1e7 ? String(n) : n.toExponential(2);
}

const HINT = 'set CARDINAL_ALLOW_LARGE=1 (CLI) or pass larger `limits` to lift it';

/** Elements of a shape; dimensions of 0 count as 1 so that a zero batch hides no cost. */
export function elementCount(shape: readonly number[]): number {
  return shape.reduce((a, d) => a * Math.max(d, 1), 1);
}

/**
 * Running cost of a graph under construction: add parameters, tensors and nodes as they are
 * made, and it throws a CostError at the first one over a limit.
 */
export class CostMeter {
  params = 0;
  activations = 0;
  nodes = 0;
  constructor(
    readonly limits: CostLimits,
    readonly what: string,
  ) {}

  addParam(key: string, shape: readonly number[]): void {
    this.params += elementCount(shape);
    if (this.params > this.limits.maxParams) {
      throw new CostError(
        `${this.what}: too large: ${count(this.params)}+ parameters (at ${key}) exceed the limit of ${count(this.limits.maxParams)}; ${HINT}`,
      );
    }
  }

  addTensor(name: string, shape: readonly number[]): void {
    const n = elementCount(shape);
    if (n > this.limits.maxTensorElements) {
      throw new CostError(
        `${this.what}: too large: ${name === this.what ? 'shape' : `tensor '${name}' of shape`} [${shape.join(', ')}] has ${count(n)} elements, over the limit of ${count(this.limits.maxTensorElements)}; ${HINT}`,
      );
    }
    this.activations += n;
    if (this.activations > this.limits.maxActivationElements) {
      throw new CostError(
        `${this.what}: too large: activations reach ${count(this.activations)} elements (at '${name}'), over the limit of ${count(this.limits.maxActivationElements)}; ${HINT}`,
      );
    }
  }

  addNode(name: string): void {
    this.nodes += 1;
    if (this.nodes > this.limits.maxNodes) {
      throw new CostError(
        `${this.what}: too large: more than ${count(this.limits.maxNodes)} nodes (at '${name}'); ${HINT}`,
      );
    }
  }
}

/** Checks a whole graph (from a graph document, say) against the limits. */
export function checkGraphCost(graph: Graph, limits?: Partial<CostLimits>): void {
  const meter = new CostMeter(resolveCostLimits(limits), graph.name);
  for (const [key, spec] of Object.entries(graph.params)) meter.addParam(key, spec.shape);
  for (const node of graph.nodes) meter.addNode(node.name);
  for (const [name, t] of Object.entries(graph.tensors)) meter.addTensor(name, t.shape);
}

/** Checks one tensor's size before it is allocated (a random input, say). */
export function checkTensorCost(what: string, shape: readonly number[], limits?: Partial<CostLimits>): void {
  new CostMeter(resolveCostLimits(limits), what).addTensor(what, shape);
}
