import {
  BackendUnavailableError,
  InternalError,
  type Tensor,
  type TrainingGraph,
  type WeightMap,
} from '@cardinal/core';
import type { RunDevice, TrainingExecutable } from '@cardinal/core/backend';
import {
  checkDevicePreference,
  checkFeeds,
  checkWeightUpdate,
  DisposeGuard,
  trainingStepOf,
} from '@cardinal/core/backend';
import type { OnnxCompileOptions } from './backend.js';
import { trainingModelProto } from './model.js';
import { loadOrt, type SessionOptions } from './runtime.js';
import { createLocalSession } from './session.js';

/**
 * A training graph on ONNX Runtime, through standard ONNX ops only: one session computes the
 * loss, every gradient and the new running statistics of a step. The weights are graph inputs,
 * fed from the executable's map at each step (the optimiser runs in JavaScript, over that map).
 */
export async function compileOnnxTraining(
  training: TrainingGraph,
  weights: WeightMap,
  options: OnnxCompileOptions,
  sessionOptions: SessionOptions,
): Promise<TrainingExecutable> {
  const { ort, error } = loadOrt();
  if (!ort) throw new BackendUnavailableError(error ?? 'onnxruntime-node cannot be loaded');
  const { bytes, paramInputs } = trainingModelProto(training, weights);
  const session = await createLocalSession(ort, bytes, sessionOptions);
  const device: RunDevice =
    session.provider === 'cuda' ? { kind: 'gpu', name: 'CUDA' } : { kind: 'cpu', name: 'CPU' };
  checkDevicePreference('onnx', options, device);
  const held: WeightMap = new Map(weights);
  const guard = new DisposeGuard(training.graph.name);
  const g = training.graph;
  return {
    backend: 'onnx',
    device,
    async step(inputs) {
      guard.check();
      const data = checkFeeds(g.inputs, inputs, false).map((t, i) => ({
        name: g.inputs[i]!.name,
        dims: [...t.shape],
        data: t.data,
      }));
      const params = paramInputs.map((key) => {
        const t = held.get(key);
        if (!t) throw new InternalError(`onnx training: no value for '${key}'`);
        return { name: key, dims: [...t.shape], data: t.data };
      });
      const results = await session.run([...data, ...params]);
      const out: Record<string, Tensor> = {};
      for (const r of results) out[r.name] = { shape: r.dims, data: r.data };
      return trainingStepOf(training, out);
    },
    setWeights(values) {
      for (const [key, t] of checkWeightUpdate(held, values)) held.set(key, t);
    },
    dispose() {
      if (guard.dispose()) session.close();
    },
    describe: () =>
      `onnx training (onnxruntime-node ${session.version}, ${session.provider.toUpperCase()} execution provider, standard ops)`,
  };
}
