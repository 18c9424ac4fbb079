export {
  activate,
  compileTfjs,
  type TfjsCompileOptions,
  type TfjsExecutable,
  tfjsBackend,
  tfjsBackend as backend,
} from './backend.js';
export {
  type FitOptions,
  type FitProgress,
  FitStopped,
  fit,
  heldOutAccuracy,
} from './fit.js';
export type { ConvStrategy } from './lower/conv-strategy.js';
export {
  describeRuntime,
  RUNTIME_ORDER,
  selectRuntime,
  type TfjsRuntime,
  type TfjsRuntimeName,
  TRAINING_ORDER,
} from './runtime.js';
export { type OptimizerName, type StepResult, Trainer, type TrainerOptions } from './train.js';
