export { GraphTrainer, type GraphTrainerOptions } from './graph-trainer.js';
export { type OptimizerName, type OptimizerSettings, TorchOptimizer } from './optimizer.js';
export { countCorrect, smoothedTargets } from './targets.js';
