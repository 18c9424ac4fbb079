import { CardinalError } from '@cardinal/core';

/** An .onnx file that cannot be imported: malformed, hostile, or using what the importer does not support. */
export class OnnxImportError extends CardinalError {
  constructor(message: string) {
    super('E_ONNX', message);
  }
}
