import {
  type Graph,
  InternalError,
  type NodeBase,
  type NodeOf,
  type OpName,
  requireParam,
  type Tensor,
  type WeightMap,
} from '@cardinal/core';
import type { AttributeProto, NodeProto, TensorProto } from '../proto.js';
import { floatTensor, int64Tensor, onnx } from '../proto.js';

/** What a lowering function may do: read weights, add initializers, emit nodes. */
export class LoweringContext {
  readonly nodes: NodeProto[] = [];
  readonly initializers: TensorProto[] = [];
  private readonly initializerNames = new Set<string>();
  /** Training graphs: the parameters and buffers read as graph inputs, by key, with their shapes. */
  readonly paramInputs = new Map<string, number[]>();

  /**
   * `params` (training graphs): the parameters and buffers that become graph inputs instead of
   * initializers, so that one session runs every step with the weights of that step.
   */
  constructor(
    readonly weights: WeightMap,
    private readonly tensors: Graph['tensors'] = {},
    private readonly params?: Graph['params'],
  ) {}

  /** A tensor's static shape (the IR's, NCHW). */
  shape(tensor: string): number[] {
    const t = this.tensors[tensor];
    if (!t) throw new InternalError(`onnx lowering: no shape for tensor '${tensor}'`);
    return t.shape;
  }

  channels(tensor: string): number {
    return this.shape(tensor)[1]!;
  }

  weight(node: NodeBase, role: string): Tensor {
    return requireParam(this.weights, node, role);
  }

  addInitializer(t: TensorProto): string {
    const name = t.name as string;
    const spec = this.params && Object.hasOwn(this.params, name) ? this.params[name] : undefined;
    if (spec) return this.paramInput(name, spec.shape, t.dims.map(Number));
    if (!this.initializerNames.has(name)) {
      this.initializerNames.add(name);
      this.initializers.push(t);
    }
    return name;
  }

  /** A float32 initializer (a constant of the lowering, never a parameter). */
  constant(name: string, dims: readonly number[], data: Float32Array): string {
    return this.addInitializer(floatTensor(name, dims, data));
  }

  /** An int64 initializer (shapes, axes, pads). */
  ints(name: string, values: readonly number[]): string {
    return this.addInitializer(int64Tensor(name, values));
  }

  /**
   * A parameter as a graph input of its own shape; a lowering that wants it in another shape
   * (GroupNorm's [C, 1, 1]) reads a Reshape of it, emitted once per shape.
   */
  private paramInput(key: string, shape: readonly number[], wanted: readonly number[]): string {
    this.paramInputs.set(key, [...shape]);
    if (shape.length === wanted.length && shape.every((d, i) => d === wanted[i])) return key;
    const name = `${key}@${wanted.join('x')}`;
    if (!this.initializerNames.has(name)) {
      this.initializerNames.add(name);
      const target = this.ints(`${name}/shape`, wanted);
      this.nodes.push(
        onnx.NodeProto.create({ name, opType: 'Reshape', input: [key, target], output: [name] }),
      );
    }
    return name;
  }

  /** Emits one ONNX node named after the IR node (its module path), for readable graphs. */
  emit(
    node: NodeBase,
    opType: string,
    inputs: string[],
    attribute: AttributeProto[] = [],
    outputs = node.outputs,
  ): void {
    this.nodes.push(
      onnx.NodeProto.create({
        name: node.name,
        opType,
        input: inputs,
        output: [...outputs],
        attribute,
        docString: node.path,
      }),
    );
  }
}

/**
 * One step of an IR node that lowers to several ONNX nodes: named `<node>/<step>`, writing the
 * node's outputs, or an intermediate `<node>/<step>` when `last` is false.
 */
export function emitStep(
  ctx: LoweringContext,
  node: NodeBase,
  step: string,
  opType: string,
  inputs: string[],
  attribute: AttributeProto[] = [],
  last = false,
): string {
  const name = `${node.name}/${step}`;
  const outputs = last ? node.outputs : [name];
  ctx.emit({ ...node, name }, opType, inputs, attribute, outputs);
  return outputs[0]!;
}

/** Lowers one node of op O to ONNX nodes and initializers. */
export type Lowering<O extends OpName = OpName> = (node: NodeOf<O>, ctx: LoweringContext) => void;
