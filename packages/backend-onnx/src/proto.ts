import onnxProto from 'onnx-proto';

/** The generated ONNX protobuf classes (onnx-proto, built on protobufjs). */
export const { onnx } = onnxProto;
export type NodeProto = InstanceType<typeof onnx.NodeProto>;
/** What a decoded model holds (plain objects with the messages' fields). */
export type DecodedNode = onnxProto.onnx.INodeProto;
export type DecodedTensor = onnxProto.onnx.ITensorProto;
export type DecodedValueInfo = onnxProto.onnx.IValueInfoProto;
export type DecodedModel = onnxProto.onnx.IModelProto;
export type TensorProto = InstanceType<typeof onnx.TensorProto>;
export type ValueInfoProto = InstanceType<typeof onnx.ValueInfoProto>;
export type AttributeProto = InstanceType<typeof onnx.AttributeProto>;

const A = onnx.AttributeProto.AttributeType;

export function intAttr(name: string, i: number): AttributeProto {
  return onnx.AttributeProto.create({ name, type: A.INT, i });
}

export function intsAttr(name: string, ints: readonly number[]): AttributeProto {
  return onnx.AttributeProto.create({ name, type: A.INTS, ints: [...ints] });
}

export function stringAttr(name: string, value: string): AttributeProto {
  return onnx.AttributeProto.create({
    name,
    type: A.STRING,
    s: new TextEncoder().encode(value),
  });
}

export function floatAttr(name: string, f: number): AttributeProto {
  return onnx.AttributeProto.create({ name, type: A.FLOAT, f });
}

/** A float32 initializer stored as raw little-endian bytes. */
export function floatTensor(name: string, dims: readonly number[], data: Float32Array): TensorProto {
  return onnx.TensorProto.create({
    name,
    dims: [...dims],
    dataType: onnx.TensorProto.DataType.FLOAT,
    rawData: new Uint8Array(data.buffer, data.byteOffset, data.byteLength),
  });
}

export function int64Tensor(name: string, values: readonly number[]): TensorProto {
  return onnx.TensorProto.create({
    name,
    dims: [values.length],
    dataType: onnx.TensorProto.DataType.INT64,
    rawData: new Uint8Array(BigInt64Array.from(values.map((v) => BigInt(v))).buffer),
  });
}

/** A float tensor value info; `batch` names a symbolic first dimension. */
export function valueInfo(name: string, shape: readonly number[], batch?: string): ValueInfoProto {
  return onnx.ValueInfoProto.create({
    name,
    type: {
      tensorType: {
        elemType: onnx.TensorProto.DataType.FLOAT,
        shape: { dim: shape.map((d, i) => (i === 0 && batch ? { dimParam: batch } : { dimValue: d })) },
      },
    },
  });
}
