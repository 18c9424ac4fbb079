import {
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

  constructor(readonly weights: WeightMap) {}

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

/** Lowers one node of op O to ONNX nodes and initializers. */
export type Lowering<O extends OpName = OpName> = (node: NodeOf<O>, ctx: LoweringContext) => void;
