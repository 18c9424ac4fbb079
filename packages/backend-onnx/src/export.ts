// The exporter alone, for browsers and bundlers: no ONNX Runtime, no Node built-ins.

export { OnnxImportError } from './import/errors.js';
export {
  CONSTANT_INPUTS,
  IMPORT_OPSETS,
  IMPORTED_OPS,
  type ImportedModel,
  importOnnx,
  type OnnxImportOptions,
} from './import/import.js';
export { exportOnnx, IR_VERSION, type OnnxExportOptions, OPSET } from './model.js';
