import { FORWARD_OP_NAMES, type Graph, inferShapes, type Tensor, type WeightMap } from '@cardinal/core';
import type { Availability, Backend, CompileOptions, Executable } from '@cardinal/core/backend';
import { batchIsFree, checkFeeds, DisposeGuard, prepareToCompile } from '@cardinal/core/backend';
import { type DeviceRequest, runContext, webgpuUnavailableReason } from './gpu/device.js';
import type { WebGpuDevice } from './gpu/types.js';
import { type LowerOptions, lowerGraph } from './plan/lower.js';
import { PipelineCache } from './runtime/pipelines.js';
import { type ConstantStore, GpuProgram, type KernelProfile } from './runtime/program.js';
import { compileWebGpuTraining } from './train.js';

export interface WebGpuCompileOptions extends CompileOptions, DeviceRequest, LowerOptions {
  /** Run on this GPUDevice instead of the shared one this package finds (a browser app's own). */
  gpuDevice?: WebGpuDevice;
}

export interface WebGpuExecutable extends Executable {
  /** The adapter that runs the model, in words. */
  readonly adapter: string;
  /** Whether that adapter is a CPU rasteriser (llvmpipe, SwiftShader). */
  readonly software: boolean;
  /** Kernel dispatches per run at the compiled batch size. */
  readonly dispatches: number;
  /** Distinct kernels (pipelines) this model uses; the same source shares one pipeline per device. */
  readonly pipelines: number;
  /** Per-kernel-kind timing of one run, slowest first. */
  profile(inputs: Readonly<Record<string, Tensor>>): Promise<KernelProfile[]>;
}

/**
 * Compiles a graph to WGSL kernels on a GPUDevice: BatchNorm folded into the convs,
 * activations, residual adds and attention scales fused into epilogues, one pipeline per
 * distinct kernel, intermediates in a liveness-planned arena, weights uploaded once. Another
 * batch size gets its own plan on first use, sharing the weights and pipelines.
 */
export async function compileWebGpu(
  graph: Graph,
  weights: WeightMap,
  options: WebGpuCompileOptions = {},
): Promise<WebGpuExecutable> {
  const { ctx, device } = await runContext(options);
  const prepared = prepareToCompile('webgpu', graph, weights, options, device);
  const g = prepared.graph;
  const pipelines = PipelineCache.for(ctx.device);
  const kernels = new Set<string>();
  const constants: ConstantStore = new Map();
  const programs = new Map<number, Promise<GpuProgram>>();
  const spec = g.inputs[0]!;
  const programFor = (batch: number) => {
    let p = programs.get(batch);
    if (!p) {
      const shaped =
        batch === spec.shape[0] ? g : inferShapes(g, { [spec.name]: [batch, ...spec.shape.slice(1)] });
      const plan = lowerGraph(shaped, prepared.weights, ctx.limits, options);
      for (const step of plan.steps) kernels.add(step.kernel.wgsl);
      p = GpuProgram.create(ctx, plan, pipelines, constants);
      programs.set(batch, p);
      p.catch(() => programs.delete(batch));
    }
    return p;
  };
  const first = await programFor(spec.shape[0]!);
  options.onProgress?.(g.nodes.length, g.nodes.length);
  const guard = new DisposeGuard(graph.name);

  // One input may come at any batch size; a graph of several inputs takes the shapes it declares.
  const check = (inputs: Readonly<Record<string, Tensor>>): number => {
    guard.check();
    const batchFree = batchIsFree(g.inputs.length, options);
    const [x] = checkFeeds(g.inputs, inputs, batchFree);
    return batchFree ? x!.shape[0]! : spec.shape[0]!;
  };
  const feeds = (inputs: Readonly<Record<string, Tensor>>) =>
    Object.fromEntries(g.inputs.map((s) => [s.name, inputs[s.name]!]));

  return {
    backend: 'webgpu',
    device,
    adapter: ctx.adapterDescription,
    software: ctx.software,
    dispatches: first.dispatchCount,
    get pipelines() {
      return kernels.size;
    },
    async run(inputs) {
      const program = await programFor(check(inputs));
      return program.run(feeds(inputs));
    },
    async profile(inputs) {
      const program = await programFor(check(inputs));
      return program.profile(feeds(inputs));
    },
    dispose() {
      if (!guard.dispose()) return;
      for (const p of programs.values())
        p.then(
          (prog) => prog.dispose(),
          () => undefined,
        );
      for (const b of constants.values()) b.destroy();
      constants.clear();
    },
    describe: () => `webgpu (${ctx.adapterDescription})`,
  };
}

export const webgpuBackend: Backend<WebGpuCompileOptions> = {
  name: 'webgpu',
  supportedOps: FORWARD_OP_NAMES,
  async isAvailable(): Promise<Availability> {
    const reason = await webgpuUnavailableReason();
    return reason ? { available: false, reason } : { available: true };
  },
  compile: compileWebGpu,
  compileTraining: compileWebGpuTraining,
};
