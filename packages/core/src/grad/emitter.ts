import { GraphError } from '../errors.js';
import type { AttrsOf } from '../ir/attrs.js';
import type { Attrs, GraphNode, NodeOf, OpName, ParamSpec, TensorSpec } from '../ir/graph.js';
import { getOp, resolveNodeAttrs } from '../ops/registry.js';
import type { GradEmitter, GradTensor } from './rule.js';

/**
 * Appends nodes to a graph under construction: attributes resolved, shapes inferred, names
 * unique. Nodes take the module path of the forward node being differentiated (`at`), so
 * every backward node, error and exported ONNX node names the module it came from.
 */
export class NodeEmitter implements GradEmitter {
  readonly nodes: GraphNode[] = [];
  private readonly names = new Set<string>();
  private readonly constants = new Map<string, GradTensor>();
  /** The module path and name stem new nodes take. */
  at = { path: '', stem: 'train' };

  constructor(
    readonly tensors: Record<string, TensorSpec>,
    private readonly params: Readonly<Record<string, ParamSpec>>,
  ) {
    for (const name of Object.keys(tensors)) this.names.add(name);
  }

  /** Copies a node of the forward graph as it is. */
  keep(node: GraphNode): void {
    this.names.add(node.name);
    this.nodes.push(node);
  }

  /** A name not yet taken by a node or a tensor. */
  unique(base: string): string {
    let name = base;
    for (let i = 2; this.names.has(name); i++) name = `${base}#${i}`;
    this.names.add(name);
    return name;
  }

  tensor(name: string): GradTensor {
    const t = Object.hasOwn(this.tensors, name) ? this.tensors[name] : undefined;
    if (!t) throw new GraphError(`training graph: no tensor '${name}'`);
    return { name, shape: t.shape };
  }

  op<O extends OpName>(
    op: O,
    inputs: readonly GradTensor[],
    rawAttrs: Partial<AttrsOf<O>>,
    params: Readonly<Record<string, string>> = {},
    outputNames?: readonly string[],
  ): GradTensor[] {
    const def = getOp(op);
    const ctx = { path: this.at.path || '<root>' };
    const attrs = resolveNodeAttrs(op, rawAttrs as Attrs, ctx);
    const outShapes = def.inferShapes(
      inputs.map((t) => t.shape),
      attrs,
      ctx,
    );
    const name = this.unique(`${this.at.stem}/${op}`);
    const outputs = outShapes.map((shape, i) => {
      const t = outputNames?.[i] ?? (outShapes.length === 1 ? name : this.unique(`${name}:${i}`));
      this.names.add(t);
      this.tensors[t] = { name: t, shape, dtype: 'float32' };
      return t;
    });
    const node: NodeOf<O> = {
      name,
      op,
      path: this.at.path,
      inputs: inputs.map((t) => t.name),
      outputs,
      attrs,
      params: { ...params },
    };
    this.nodes.push(node as GraphNode);
    return outputs.map((t, i) => ({ name: t, shape: outShapes[i]! }));
  }

  param(key: string): GradTensor {
    const seen = this.constants.get(key);
    if (seen) return seen;
    const spec = Object.hasOwn(this.params, key) ? this.params[key] : undefined;
    if (!spec) throw new GraphError(`training graph: no parameter '${key}'`);
    const saved = this.at;
    this.at = { path: saved.path, stem: key };
    const t = this.op('constant', [], { shape: [...spec.shape] }, { value: key })[0]!;
    this.at = saved;
    this.constants.set(key, t);
    return t;
  }

  unbroadcast(dy: GradTensor, shape: readonly number[]): GradTensor {
    const axes = shape.flatMap((d, i) => (d === 1 && dy.shape[i] !== 1 ? [i] : []));
    return axes.length ? this.op('reduceSum', [dy], { axes, keepDims: true })[0]! : dy;
  }

  /** The sum of several gradients of one tensor (a tensor read by several nodes). */
  sum(parts: readonly GradTensor[]): GradTensor {
    let acc = parts[0]!;
    for (const p of parts.slice(1)) acc = this.op('add', [acc, p], {})[0]!;
    return acc;
  }
}
