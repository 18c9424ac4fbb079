export {
  activate,
  compileTfjs,
  type TfjsCompileOptions,
  type TfjsExecutable,
  tfjsBackend,
  tfjsBackend as backend,
} from './backend.js';
export { applyConv, type ConvPlan, type ConvStrategy, planConv, prepareFilter } from './lower/conv.js';
export { type BatchStats, type ParamSource, Program, type ProgramOptions } from './program.js';
export {
  describeRuntime,
  RUNTIME_ORDER,
  selectRuntime,
  type Tf,
  type TfjsRuntime,
  type TfjsRuntimeName,
  TRAINING_ORDER,
} from './runtime.js';
export { type OptimizerName, type StepResult, Trainer, type TrainerOptions } from './train.js';
