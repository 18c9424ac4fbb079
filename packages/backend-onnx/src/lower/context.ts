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
import { onnx } from '../proto.js';

/** What a lowering function may do: read weights, add initializers, emit nodes. */
export class LoweringContext {
  readonly nodes: NodeProto[] = [];
  readonly initializers: TensorProto[] = [];
  private readonly initializerNames = new Set<string>();

  constructor(
    readonly weights: WeightMap,
    private readonly tensors: Graph['tensors'] = {},
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
    if (!this.initializerNames.has(name)) {
      this.initializerNames.add(name);
      this.initializers.push(t);
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
