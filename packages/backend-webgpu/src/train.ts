import type { TrainingGraph, WeightMap } from '@cardinal/core';
import type { TrainingExecutable } from '@cardinal/core/backend';
import {
  checkDevicePreference,
  checkFeeds,
  checkWeightUpdate,
  DisposeGuard,
  trainingStepOf,
} from '@cardinal/core/backend';
import type { WebGpuCompileOptions } from './backend.js';
import { runContext } from './gpu/device.js';
import { lowerGraph } from './plan/lower.js';
import { PipelineCache } from './runtime/pipelines.js';
import { type ConstantStore, GpuProgram } from './runtime/program.js';

/**
 * A training graph as WGSL kernels: the forward ops lower as in inference (BatchNorm in its
 * training form, so nothing is folded), the training ops through lower/train.ts, and one
 * submit runs the whole step. Parameters live in constant buffers made from the executable's
 * weight map; `setWeights` replaces entries of the map and rewrites the buffers from it.
 */
export async function compileWebGpuTraining(
  training: TrainingGraph,
  weights: WeightMap,
  options: WebGpuCompileOptions = {},
): Promise<TrainingExecutable> {
  const { ctx, device } = await runContext(options);
  checkDevicePreference('webgpu', options, device);
  // The lowering's constants read this map when made and when refreshed.
  const held: WeightMap = new Map(weights);
  const g = training.graph;
  const plan = lowerGraph(g, held, ctx.limits, options);
  const constants: ConstantStore = new Map();
  const program = await GpuProgram.create(ctx, plan, PipelineCache.for(ctx.device), constants);
  const guard = new DisposeGuard(g.name);
  // Parameters replaced since the last step: their constants are rewritten before the next.
  const stale = new Set<string>();
  return {
    backend: 'webgpu',
    device,
    async step(inputs) {
      guard.check();
      const feeds = checkFeeds(g.inputs, inputs, false);
      if (stale.size > 0) {
        program.refreshConstants(constants, stale);
        stale.clear();
      }
      const out = await program.run(Object.fromEntries(g.inputs.map((s, i) => [s.name, feeds[i]!])));
      return trainingStepOf(training, out);
    },
    setWeights(values) {
      for (const [key, t] of checkWeightUpdate(held, values)) {
        held.set(key, t);
        stale.add(key);
      }
    },
    dispose() {
      if (!guard.dispose()) return;
      program.dispose();
      for (const b of constants.values()) b.destroy();
      constants.clear();
    },
    describe: () => `webgpu training (${ctx.adapterDescription}, ${program.dispatchCount} kernels per step)`,
  };
}
