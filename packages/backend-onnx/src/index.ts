export {
  compileOnnx,
  type OnnxCompileOptions,
  type OnnxExecutable,
  onnxBackend,
  onnxBackend as backend,
} from './backend.js';
export { OnnxImportError } from './import/errors.js';
export {
  CONSTANT_INPUTS,
  IMPORT_OPSETS,
  IMPORTED_OPS,
  type ImportedModel,
  importOnnx,
  type OnnxImportOptions,
} from './import/import.js';
export {
  exportOnnx,
  IR_VERSION,
  type OnnxExportOptions,
  OPSET,
} from './model.js';
export {
  createSession,
  cudaUnavailableReason,
  type ExecutionProvider,
  loadOrt,
  type SessionChoice,
  type SessionOptions,
} from './runtime.js';
