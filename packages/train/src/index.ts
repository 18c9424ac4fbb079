export type { BatchTrainer } from './batch-trainer.js';
export { type FitOptions, type FitProgress, FitStopped, fit, heldOutAccuracy } from './fit.js';
export { GraphTrainer, type GraphTrainerOptions, LossNotFinite } from './graph-trainer.js';
export { type OptimizerName, type OptimizerSettings, TorchOptimizer } from './optimizer.js';
export { countCorrect, smoothedTargets } from './targets.js';
