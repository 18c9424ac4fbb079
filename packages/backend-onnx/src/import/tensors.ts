// ONNX TensorProto -> plain values, checked against their declared shape before use.
import type { DecodedTensor as TensorProto } from '../proto.js';
import { onnx } from '../proto.js';
import { OnnxImportError } from './errors.js';

export type ConstValue =
  | { kind: 'float'; shape: number[]; data: Float32Array }
  | { kind: 'int'; shape: number[]; data: number[] };

const T = onnx.TensorProto.DataType;

function count(shape: number[], name: string): number {
  let n = 1;
  for (const d of shape) {
    if (!Number.isSafeInteger(d) || d < 0) throw new OnnxImportError(`tensor '${name}': bad dimension ${d}`);
    n *= d;
    if (n > 2 ** 31) throw new OnnxImportError(`tensor '${name}': [${shape.join(', ')}] is too large`);
  }
  return n;
}

/** A float32 or integer (int64/int32) tensor; other types, external data and short data are refused. */
export function readTensor(t: TensorProto, where: string): ConstValue {
  const name = t.name || where;
  const shape = (t.dims ?? []).map((d) => Number(d));
  const n = count(shape, name);
  if (t.dataLocation === onnx.TensorProto.DataLocation.EXTERNAL || (t.externalData?.length ?? 0) > 0)
    throw new OnnxImportError(
      `tensor '${name}': external data is not supported (save the model with its weights inside)`,
    );
  const raw = t.rawData && t.rawData.length > 0 ? t.rawData : undefined;
  if (t.dataType === T.FLOAT) {
    if (raw) {
      if (raw.length !== n * 4)
        throw new OnnxImportError(
          `tensor '${name}': ${raw.length} bytes of raw data, its shape [${shape.join(', ')}] needs ${n * 4}`,
        );
      const data = new Float32Array(n);
      new Uint8Array(data.buffer).set(raw);
      return { kind: 'float', shape, data };
    }
    const values = t.floatData ?? [];
    if (values.length !== n)
      throw new OnnxImportError(
        `tensor '${name}': ${values.length} values, its shape [${shape.join(', ')}] needs ${n}`,
      );
    return { kind: 'float', shape, data: Float32Array.from(values) };
  }
  if (t.dataType === T.INT64 || t.dataType === T.INT32) {
    const width = t.dataType === T.INT64 ? 8 : 4;
    if (raw) {
      if (raw.length !== n * width)
        throw new OnnxImportError(
          `tensor '${name}': ${raw.length} bytes of raw data, its shape [${shape.join(', ')}] needs ${n * width}`,
        );
      const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
      const data = Array.from({ length: n }, (_, i) =>
        width === 8 ? Number(view.getBigInt64(i * 8, true)) : view.getInt32(i * 4, true),
      );
      return { kind: 'int', shape, data };
    }
    const values = (t.dataType === T.INT64 ? t.int64Data : t.int32Data) ?? [];
    if (values.length !== n)
      throw new OnnxImportError(
        `tensor '${name}': ${values.length} values, its shape [${shape.join(', ')}] needs ${n}`,
      );
    return { kind: 'int', shape, data: values.map((v) => Number(v)) };
  }
  const type = onnx.TensorProto.DataType[t.dataType ?? 0] ?? String(t.dataType);
  throw new OnnxImportError(
    `tensor '${name}': data type ${type} is not supported (float32 and integer shapes only)`,
  );
}
