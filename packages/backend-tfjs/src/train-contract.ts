import { InputError, type Tensor, type TrainingGraph, type WeightMap } from '@cardinal/core';
import type { TrainingExecutable, TrainingStep } from '@cardinal/core/backend';
import { checkDevicePreference, DisposeGuard } from '@cardinal/core/backend';
import type * as TF from '@tensorflow/tfjs';
import type { TfjsCompileOptions } from './backend.js';
import { Trainer } from './train.js';

/**
 * The training contract on TensorFlow.js: its own tape (tf.variableGrads over the forward
 * lowering, with Cardinal's convolution gradients) rather than the IR's backward graph, which
 * its op table does not lower yet. The loss is the training graph's; the optimiser is the caller's.
 */
export async function compileTfjsTraining(
  training: TrainingGraph,
  weights: WeightMap,
  options: TfjsCompileOptions,
): Promise<TrainingExecutable> {
  const trainable = training.options.trainable;
  const freeze = trainable
    ? Object.entries(training.forward.params)
        .filter(([key, spec]) => spec.kind === 'parameter' && !trainable(key))
        .map(([key]) => key)
    : [];
  const trainer = await Trainer.create(training.forward, weights, {
    ...(options.runtime ? { runtime: options.runtime } : {}),
    freeze,
  });
  const device = {
    kind: trainer.runtime.runtime === 'node-gpu' ? 'gpu' : 'cpu',
    name: trainer.runtime.backend,
  } as const;
  checkDevicePreference('tfjs', options, device);
  const guard = new DisposeGuard(training.graph.name);
  const tf = trainer.runtime.tf;
  const inputName = training.forward.inputs[0]!.name;
  return {
    backend: 'tfjs',
    device,
    async step(inputs): Promise<TrainingStep> {
      guard.check();
      const x = inputs[inputName];
      const target = inputs[training.lossInput];
      if (!x || !target)
        throw new InputError(`training step: inputs '${inputName}' and '${training.lossInput}' are needed`);
      const r = tf.tensor(target.data, [...target.shape]);
      const n = x.shape[0]!;
      const loss = (out: TF.Tensor): TF.Scalar =>
        training.options.loss.kind === 'weightedSum'
          ? tf.div(tf.sum(tf.mul(out, r)), n)
          : tf.div(tf.neg(tf.sum(tf.mul(tf.logSoftmax(out), r))), n);
      try {
        const step = await trainer.step(x, loss, false);
        const after = await trainer.weights();
        const running = new Map<string, Tensor>();
        for (const key of training.running.keys()) running.set(key, after.get(key)!);
        return { loss: step.loss, output: step.output, grads: step.grads, running };
      } finally {
        r.dispose();
      }
    },
    setWeights(values) {
      trainer.assign(values);
    },
    dispose() {
      if (guard.dispose()) trainer.dispose();
    },
    describe: () => `tfjs training (${trainer.describe()}, its own tape)`,
  };
}
