import { formatShape, InputError, InternalError, shapeSize, type Tensor } from '@cardinal/core';
import { workgroupGrid } from '../codegen/kernel.js';
import type { GpuContext } from '../gpu/device.js';
import type { WebGpuBuffer, WebGpuComputePipeline } from '../gpu/types.js';
import { type ArenaLayout, planArena, roundUp16 } from '../plan/arena.js';
import type { Plan, PlanStep } from '../plan/lower.js';
import type { PipelineCache } from './pipelines.js';

/** Constant buffers by key, shared across the plans (batch sizes) of one compiled model. */
export type ConstantStore = Map<string, WebGpuBuffer>;

interface Dispatch {
  step: PlanStep;
  pipeline: WebGpuComputePipeline;
  bindGroup: GPUBindGroup;
  grid: [number, number];
}

/** Per-kernel-kind time of one run, in milliseconds. */
export interface KernelProfile {
  kind: string;
  count: number;
  ms: number;
  /** `timestamp`: GPU timestamp queries; `cpu`: wall time around one submit per kernel. */
  source: 'timestamp' | 'cpu';
}

/**
 * One plan made real on a device: its arena buffers, input and staging buffers, pipelines and
 * bind groups are made here once; `run` only writes the input, records one command encoder
 * and reads the outputs back.
 */
export class GpuProgram {
  readonly arena: ArenaLayout;
  private readonly slots: GPUBuffer[];
  private readonly staging: GPUBuffer[];
  private dispatches: Dispatch[] = [];
  private busy: Promise<unknown> = Promise.resolve();

  private constructor(
    private readonly ctx: GpuContext,
    readonly plan: Plan,
  ) {
    const device = ctx.device;
    this.arena = planArena(plan);
    this.slots = this.arena.slotSizes.map((size, i) =>
      device.createBuffer({
        size,
        usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST,
        label: `arena ${i}`,
      }),
    );
    this.staging = plan.outputs.map((o) =>
      device.createBuffer({
        size: roundUp16(shapeSize(o.shape) * 4),
        usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST,
        label: `readback ${o.name}`,
      }),
    );
  }

  static async create(
    ctx: GpuContext,
    plan: Plan,
    pipelines: PipelineCache,
    constants: ConstantStore,
  ): Promise<GpuProgram> {
    const program = new GpuProgram(ctx, plan);
    const device = ctx.device;
    const constantBuffer = (c: { key: string; make: () => Float32Array }) => {
      let b = constants.get(c.key);
      if (!b) {
        const data = c.make();
        b = device.createBuffer({
          size: roundUp16(data.byteLength),
          // COPY_DST: a training executable rewrites parameters between steps.
          usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST,
          mappedAtCreation: true,
          label: c.key,
        });
        new Float32Array(b.getMappedRange()).set(data);
        b.unmap();
        constants.set(c.key, b);
      }
      return b;
    };
    const compiled = await Promise.all(plan.steps.map((s) => pipelines.get(s.kernel, s.path)));
    program.dispatches = plan.steps.map((step, i) => {
      const pipeline = compiled[i]!;
      const entries = step.kernel.bindings.map((slot, binding): GPUBindGroupEntry => {
        if (slot.kind === 'constant') {
          const c = step.constants[slot.name];
          if (!c)
            throw new InternalError(`${step.path}: kernel binds constant '${slot.name}' that the plan lacks`);
          return { binding, resource: { buffer: constantBuffer(c) } };
        }
        const tensor =
          slot.role === 'input'
            ? step.inputs[slot.index]
            : slot.role === 'operand'
              ? step.operands[slot.index]
              : step.output;
        return { binding, resource: { buffer: program.bufferOf(tensor!) } };
      });
      const bindGroup = device.createBindGroup({ layout: pipeline.getBindGroupLayout(0), entries });
      const grid = workgroupGrid(
        step.kernel.invocations,
        step.kernel.workgroupSize,
        ctx.limits.maxWorkgroupsPerDimension,
      );
      return { step, pipeline, bindGroup, grid };
    });
    return program;
  }

  /**
   * Rewrites, from its `make` (which reads the weights as they are now), every constant of this
   * plan that reads one of the `changed` parameters: the training executable calls it after the
   * optimiser replaced some (frozen ones are not repacked). A constant whose parameters are not
   * known is rewritten too.
   */
  refreshConstants(constants: ConstantStore, changed: ReadonlySet<string>): void {
    const done = new Set<string>();
    for (const step of this.plan.steps)
      for (const c of Object.values(step.constants)) {
        if (done.has(c.key) || (c.params && !c.params.some((k) => changed.has(k)))) continue;
        const buffer = constants.get(c.key);
        if (!buffer) throw new InternalError(`constant '${c.key}' was never uploaded`);
        const data = c.make();
        this.ctx.device.queue.writeBuffer(buffer, 0, data.buffer, data.byteOffset, data.byteLength);
        done.add(c.key);
      }
  }

  private bufferOf(tensor: string): GPUBuffer {
    const slot = this.arena.slotOf.get(tensor);
    if (slot === undefined) throw new InternalError(`tensor '${tensor}' has no storage in the arena`);
    return this.slots[slot]!;
  }

  private encode(encoder: GPUCommandEncoder, from = 0, to = this.dispatches.length): void {
    const pass = encoder.beginComputePass();
    for (let i = from; i < to; i++) {
      const d = this.dispatches[i]!;
      pass.setPipeline(d.pipeline);
      pass.setBindGroup(0, d.bindGroup);
      pass.dispatchWorkgroups(d.grid[0], d.grid[1]);
    }
    pass.end();
  }

  private writeInputs(inputs: Readonly<Record<string, Tensor>>): void {
    for (const spec of this.plan.inputs) {
      const x = inputs[spec.name];
      if (!x)
        throw new InputError(`missing input '${spec.name}' (expected shape ${formatShape(spec.shape)})`);
      this.ctx.device.queue.writeBuffer(
        this.bufferOf(spec.name),
        0,
        x.data.buffer,
        x.data.byteOffset,
        x.data.byteLength,
      );
    }
  }

  /** Runs the whole plan: one encoder, one submit, then the outputs are read back. */
  run(inputs: Readonly<Record<string, Tensor>>): Promise<Record<string, Tensor>> {
    // Runs are serialised: they share the arena and the staging buffers.
    const result = this.busy.then(() => this.runNow(inputs));
    this.busy = result.catch(() => undefined);
    return result;
  }

  private async runNow(inputs: Readonly<Record<string, Tensor>>): Promise<Record<string, Tensor>> {
    const device = this.ctx.device;
    this.writeInputs(inputs);
    const encoder = device.createCommandEncoder();
    this.encode(encoder);
    this.plan.outputs.forEach((o, i) => {
      encoder.copyBufferToBuffer(this.bufferOf(o.name), 0, this.staging[i]!, 0, this.staging[i]!.size);
    });
    device.queue.submit([encoder.finish()]);
    const out: Record<string, Tensor> = {};
    await Promise.all(this.staging.map((b) => b.mapAsync(GPUMapMode.READ)));
    this.plan.outputs.forEach((o, i) => {
      const n = shapeSize(o.shape);
      const b = this.staging[i]!;
      out[o.name] = {
        shape: [...o.shape],
        data: new Float32Array(b.getMappedRange(0, roundUp16(n * 4)).slice(0, n * 4)),
      };
      b.unmap();
    });
    return out;
  }

  /**
   * Time per kernel kind for one run, slowest first: from timestamp queries around each
   * kernel's pass where the device has them (SwiftShader does), else from CPU timing around
   * one submit per kernel (Dawn's GL backend has no timestamps). For finding the slowest
   * kernels, not for latency: one pass per kernel adds overhead.
   */
  profile(inputs: Readonly<Record<string, Tensor>>): Promise<KernelProfile[]> {
    // Joins the same queue as run(): a run started during a profile must not share its buffers.
    const result = this.busy.then(() => this.profileNow(inputs));
    this.busy = result.catch(() => undefined);
    return result;
  }

  private async profileNow(inputs: Readonly<Record<string, Tensor>>): Promise<KernelProfile[]> {
    const device = this.ctx.device;
    this.writeInputs(inputs);
    await device.queue.onSubmittedWorkDone();
    const times = device.features.has('timestamp-query')
      ? await this.timestampTimes()
      : await this.cpuTimes();
    const byKind = new Map<string, KernelProfile>();
    times.forEach((ms, i) => {
      const kind = this.dispatches[i]!.step.kernel.kind;
      const p = byKind.get(kind) ?? { kind, count: 0, ms: 0, source: times.source };
      p.count += 1;
      p.ms += ms;
      byKind.set(kind, p);
    });
    return [...byKind.values()].sort((a, b) => b.ms - a.ms);
  }

  private async cpuTimes(): Promise<number[] & { source: 'cpu' }> {
    const device = this.ctx.device;
    const times: number[] = [];
    for (let i = 0; i < this.dispatches.length; i++) {
      const encoder = device.createCommandEncoder();
      this.encode(encoder, i, i + 1);
      const t0 = performance.now();
      device.queue.submit([encoder.finish()]);
      await device.queue.onSubmittedWorkDone();
      times.push(performance.now() - t0);
    }
    return Object.assign(times, { source: 'cpu' as const });
  }

  private async timestampTimes(): Promise<number[] & { source: 'timestamp' }> {
    const device = this.ctx.device;
    const n = this.dispatches.length;
    const querySet = device.createQuerySet({ type: 'timestamp', count: 2 * n });
    const resolve = device.createBuffer({
      size: 16 * n,
      usage: GPUBufferUsage.QUERY_RESOLVE | GPUBufferUsage.COPY_SRC,
    });
    const read = device.createBuffer({
      size: 16 * n,
      usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST,
    });
    try {
      const encoder = device.createCommandEncoder();
      this.dispatches.forEach((d, i) => {
        const pass = encoder.beginComputePass({
          timestampWrites: { querySet, beginningOfPassWriteIndex: 2 * i, endOfPassWriteIndex: 2 * i + 1 },
        });
        pass.setPipeline(d.pipeline);
        pass.setBindGroup(0, d.bindGroup);
        pass.dispatchWorkgroups(d.grid[0], d.grid[1]);
        pass.end();
      });
      encoder.resolveQuerySet(querySet, 0, 2 * n, resolve, 0);
      encoder.copyBufferToBuffer(resolve, 0, read, 0, 16 * n);
      device.queue.submit([encoder.finish()]);
      await read.mapAsync(GPUMapMode.READ);
      const ticks = new BigInt64Array(read.getMappedRange().slice(0));
      read.unmap();
      const times = Array.from({ length: n }, (_, i) => Number(ticks[2 * i + 1]! - ticks[2 * i]!) / 1e6);
      return Object.assign(times, { source: 'timestamp' as const });
    } finally {
      querySet.destroy();
      resolve.destroy();
      read.destroy();
    }
  }

  get dispatchCount(): number {
    return this.dispatches.length;
  }

  dispose(): void {
    for (const b of [...this.slots, ...this.staging]) b.destroy();
    this.dispatches = [];
  }
}
