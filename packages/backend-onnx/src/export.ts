// The exporter alone, for browsers and bundlers: no ONNX Runtime, no Node built-ins.
export { exportOnnx, IR_VERSION, type OnnxExportOptions, OPSET } from './model.js';
