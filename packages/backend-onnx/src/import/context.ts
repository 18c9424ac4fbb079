import type { GraphBuilder, OpName, SymbolicTensor, Tensor } from '@cardinal/core';
import type { DecodedNode as NodeProto } from '../proto.js';
import { OnnxImportError } from './errors.js';
import type { FoldInput } from './fold.js';
import type { ConstValue } from './tensors.js';

/**
 * ONNX stores float attributes as float32; the IR (like PyTorch) holds doubles. The shortest
 * decimal that is the same float32 (1e-5, not 0.000009999999747) is what was written.
 */
export function shortestFloat32(x: number): number {
  const f = Math.fround(x);
  for (let p = 1; p <= 9; p++) {
    const d = Number(f.toPrecision(p));
    if (Math.fround(d) === f) return d;
  }
  return f;
}

/** Where a node's IR counterpart goes: its module path, and whether the node is named after it. */
export interface Placement {
  path: string;
  /** The node's name is its path (a module that owns parameters); else the builder names it. */
  named: boolean;
}

/** One ONNX node being imported: its inputs, attributes, and the builder to emit into. */
export class NodeImport {
  private readonly attrs = new Map<string, NonNullable<NodeProto['attribute']>[number]>();

  constructor(
    readonly b: GraphBuilder,
    readonly node: NodeProto,
    readonly opset: number,
    private readonly values: Map<string, SymbolicTensor>,
    private readonly constants: Map<string, ConstValue>,
    private readonly weights: Map<string, Tensor>,
    private readonly placement: Placement,
    /** A float constant as a graph tensor (a `constant` node), its shape padded with 1s to `rank`. */
    private readonly materialize: (
      name: string,
      c: ConstValue & { kind: 'float' },
      rank: number,
    ) => SymbolicTensor,
  ) {
    for (const a of node.attribute ?? []) this.attrs.set(a.name ?? '', a);
  }

  /** One line naming the node, its op and opset, and what is not supported. */
  refuse(what: string): never {
    throw new OnnxImportError(
      `node '${this.node.name || this.node.output?.[0]}' (${this.node.opType}, opset ${this.opset}): ${what}`,
    );
  }

  input(i: number): string | undefined {
    const name = this.node.input?.[i];
    return name ? name : undefined;
  }

  /**
   * Input i as a graph tensor: a computed one, or a float constant made a `constant` node. With
   * `rank`, a tensor of lower rank is viewed with leading 1s (NumPy's broadcasting of ranks).
   */
  data(i: number, rank?: number): SymbolicTensor {
    const name = this.input(i);
    if (name === undefined) this.refuse(`input ${i} is missing`);
    const t = this.values.get(name);
    if (t) {
      if (rank === undefined || t.shape.length >= rank) return t;
      return this.reshaped(t, [...Array(rank - t.shape.length).fill(1), ...t.shape]);
    }
    const c = this.constants.get(name);
    if (!c) this.refuse(`input ${i} ('${name}') is not produced before this node`);
    if (c.kind !== 'float') this.refuse(`input ${i} ('${name}') is an integer tensor (float32 only)`);
    return this.materialize(name, c, rank ?? c.shape.length);
  }

  get path(): string {
    return this.placement.path;
  }

  /** A helper node inside this node's module (a reshape, a transpose it needs besides its own op). */
  inner<O extends OpName>(
    op: O,
    inputs: SymbolicTensor[],
    attrs: Record<string, number | boolean | number[]>,
  ) {
    return this.b.scope(this.placement.path, () => this.b.node(op, inputs, attrs))[0]!;
  }

  reshaped(t: SymbolicTensor, shape: number[]): SymbolicTensor {
    return this.inner('reshape', [t], { shape });
  }

  /** This node seen by the shape-arithmetic folders: a computed input is no constant there. */
  fold(): FoldInput {
    return {
      node: this.node,
      opset: this.opset,
      constant: (i) => {
        const name = this.input(i);
        return name === undefined || this.values.has(name) ? undefined : this.constants.get(name);
      },
      computed: (i) => this.values.get(this.input(i) ?? ''),
      int: (name, fallback) => this.int(name, fallback),
      ints: (name, fallback) => this.ints(name, fallback),
      refuse: (what) => this.refuse(what),
    };
  }

  /** The rank of input i, computed or constant. */
  rankOfInput(i: number): number {
    const name = this.input(i) ?? '';
    const t = this.values.get(name) ?? this.constants.get(name);
    if (!t) this.refuse(`input ${i} is missing`);
    return t.shape.length;
  }

  isConstant(i: number): boolean {
    const name = this.input(i);
    return name !== undefined && !this.values.has(name) && this.constants.has(name);
  }

  /** A constant input (an initializer or a Constant node's value), or undefined when absent. */
  constant(i: number): ConstValue | undefined {
    const name = this.input(i);
    if (name === undefined) return undefined;
    const c = this.constants.get(name);
    if (!c) this.refuse(`input ${i} ('${name}') must be a constant (an initializer), not a computed tensor`);
    return c;
  }

  floatConstant(i: number, what: string): { shape: number[]; data: Float32Array } {
    const c = this.constant(i);
    if (!c) this.refuse(`${what} (input ${i}) is missing`);
    if (c.kind !== 'float') this.refuse(`${what} (input ${i}) must be float32`);
    return c;
  }

  has(name: string): boolean {
    return this.attrs.has(name);
  }

  int(name: string, fallback: number): number {
    const a = this.attrs.get(name);
    return a ? Number(a.i) : fallback;
  }

  ints(name: string, fallback: number[]): number[] {
    const a = this.attrs.get(name);
    return a ? (a.ints ?? []).map(Number) : fallback;
  }

  /** A float attribute, as the shortest decimal with its float32 value (see shortestFloat32). */
  float(name: string, fallback: number): number {
    const a = this.attrs.get(name);
    return a ? shortestFloat32(Number(a.f)) : fallback;
  }

  str(name: string, fallback: string): string {
    const a = this.attrs.get(name);
    return a?.s ? new TextDecoder().decode(a.s) : fallback;
  }

  /** Refuses every attribute but those listed: an attribute the importer does not read could change the result. */
  only(...names: string[]): void {
    for (const n of this.attrs.keys())
      if (!names.includes(n)) this.refuse(`attribute '${n}' is not supported`);
  }

  /**
   * Emits one IR node; `params` are its parameters by role, stored under the keys the builder
   * gives them (`<path>.<role>`).
   */
  emit<O extends OpName>(
    op: O,
    inputs: SymbolicTensor[],
    attrs: Record<string, number | boolean | number[]>,
    params: Record<string, { shape: number[]; data: Float32Array }> = {},
  ): SymbolicTensor[] {
    const { path, named } = this.placement;
    const outs = named
      ? this.b.node(op, inputs, attrs, path)
      : this.b.scope(path, () => this.b.node(op, inputs, attrs));
    for (const [role, t] of Object.entries(params)) this.weights.set(path ? `${path}.${role}` : role, t);
    return outs;
  }
}

export type OpImporter = (n: NodeImport) => SymbolicTensor[];
