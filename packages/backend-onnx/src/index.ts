export {
  compileOnnx,
  type OnnxCompileOptions,
  type OnnxExecutable,
  onnxBackend,
  onnxBackend as backend,
} from './backend.js';
// The exporter and importer, also published alone as ./export for browsers.
export * from './export.js';
export {
  createSession,
  cudaUnavailableReason,
  type ExecutionProvider,
  loadOrt,
  type SessionChoice,
  type SessionOptions,
} from './runtime.js';
