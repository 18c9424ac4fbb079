import { CardinalError } from '@cardinal/core';
import type { KernelSource } from '../codegen/kernel.js';
import type { WebGpuComputePipeline, WebGpuDevice } from '../gpu/types.js';

/**
 * Compiles WGSL to compute pipelines, once per distinct source: blocks of one stage share
 * shapes, so a ResNeXt-50 has far fewer distinct kernels than dispatches.
 */
export class PipelineCache {
  private static readonly perDevice = new WeakMap<GPUDevice, PipelineCache>();

  /**
   * The device's cache: pipelines cannot be destroyed in WebGPU, so models compiled again on
   * the same device share them instead of piling up compiled code.
   */
  static for(device: WebGpuDevice): PipelineCache {
    let c = PipelineCache.perDevice.get(device);
    if (!c) {
      c = new PipelineCache(device);
      PipelineCache.perDevice.set(device, c);
    }
    return c;
  }

  private readonly byCode = new Map<string, Promise<GPUComputePipeline>>();
  private queue: Promise<unknown> = Promise.resolve();
  private constructor(private readonly device: GPUDevice) {}

  get(kernel: KernelSource, path: string): Promise<WebGpuComputePipeline> {
    let p = this.byCode.get(kernel.wgsl);
    if (!p) {
      // One at a time: Dawn's OpenGL backend aborts or stalls with many creations in flight.
      p = this.queue.then(() => this.compile(kernel, path));
      this.queue = p.catch(() => undefined);
      this.byCode.set(kernel.wgsl, p);
    }
    return p;
  }

  private async compile(kernel: KernelSource, path: string): Promise<GPUComputePipeline> {
    const device = this.device;
    const label = `${kernel.kind} ${path}`;
    // Errors come from the scope, whose message carries the WGSL diagnostics; Dawn's
    // getCompilationInfo() and concurrent async creation stall or abort on its GL backend.
    device.pushErrorScope('validation');
    const module = device.createShaderModule({ code: kernel.wgsl, label });
    const pipeline = device.createComputePipeline({
      layout: 'auto',
      compute: { module, entryPoint: 'main' },
      label,
    });
    const err = await device.popErrorScope();
    if (err)
      throw new CardinalError(
        'E_UNSUPPORTED',
        `${path}: the ${kernel.kind} kernel did not compile: ${err.message}`,
      );
    return pipeline;
  }
}
