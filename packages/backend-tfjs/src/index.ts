// The epoch loop is @cardinal/train's (one for every backend); re-exported where it used to live.
export {
  type BatchTrainer,
  type FitOptions,
  type FitProgress,
  FitStopped,
  fit,
  heldOutAccuracy,
} from '@cardinal/train';
export {
  activate,
  compileTfjs,
  type TfjsCompileOptions,
  type TfjsExecutable,
  tfjsBackend,
  tfjsBackend as backend,
} from './backend.js';
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
