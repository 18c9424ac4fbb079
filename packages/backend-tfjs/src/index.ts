export { tfjsBackend, tfjsBackend as backend, compileTfjs, activate, type TfjsCompileOptions, type TfjsExecutable } from './backend.js';
export { selectRuntime, describeRuntime, RUNTIME_ORDER, type TfjsRuntime, type TfjsRuntimeName, type Tf } from './runtime.js';
export { Program, type ParamSource, type BatchStats, type ProgramOptions } from './program.js';
export { planConv, prepareFilter, applyConv, type ConvStrategy, type ConvPlan } from './lower/conv.js';
