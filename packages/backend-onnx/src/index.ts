export { onnxBackend, onnxBackend as backend, compileOnnx, type OnnxCompileOptions, type OnnxExecutable } from './backend.js';
export { exportOnnx, toModelProto, prepareGraph, OPSET, IR_VERSION, type OnnxExportOptions } from './model.js';
export { createSession, loadOrt, cudaUnavailableReason, type ExecutionProvider, type SessionOptions, type SessionChoice } from './runtime.js';
export { LOWERINGS } from './lower/index.js';
