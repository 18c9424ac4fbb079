import { BackendUnavailableError } from '@cardinal/core';
import type { RunDevice } from '@cardinal/core/backend';
import type { RenderLimits } from '../codegen/kernel.js';
import type { WebGpuAdapter, WebGpuDevice, WebGpuPowerPreference } from './types.js';

/** A device to run on and words that say what it is. */
export interface GpuContext {
  device: WebGpuDevice;
  /** e.g. `Dawn OpenGL (compatibility): llvmpipe (LLVM 15.0.6, 256 bits), Mesa 22.3.6`. */
  adapterDescription: string;
  /** Whether the adapter is a CPU rasteriser (llvmpipe, SwiftShader), for benchmarks' notes. */
  software: boolean;
  limits: RenderLimits;
}

export interface DeviceRequest {
  powerPreference?: WebGpuPowerPreference;
}

/** CPU implementations of WebGPU's backends, by the names their adapters report. */
const SOFTWARE_ADAPTER = /llvmpipe|swiftshader|software|lavapipe/i;

function describeAdapter(adapter: GPUAdapter, label: string): { text: string; software: boolean } {
  const info = adapter.info;
  const parts = [info.vendor, info.architecture, info.device, info.description].filter(
    (s) => s && s.length > 0,
  );
  const text = `${label}: ${parts.join(', ') || 'unnamed adapter'}`;
  const software = info.isFallbackAdapter === true || SOFTWARE_ADAPTER.test(text);
  return { text, software };
}

function renderLimits(device: GPUDevice): RenderLimits {
  return {
    maxInvocationsPerWorkgroup: device.limits.maxComputeInvocationsPerWorkgroup,
    maxWorkgroupsPerDimension: device.limits.maxComputeWorkgroupsPerDimension,
    maxStorageBuffersPerStage: device.limits.maxStorageBuffersPerShaderStage,
  };
}

/** Wraps a device the caller already has (a browser app's own, a test's instrumented one). */
export function contextForDevice(
  device: WebGpuDevice,
  description = 'caller-provided GPUDevice',
): GpuContext {
  return {
    device,
    adapterDescription: description,
    software: SOFTWARE_ADAPTER.test(description),
    limits: renderLimits(device),
  };
}

async function findAdapter(
  req: DeviceRequest,
): Promise<{ adapter: WebGpuAdapter; label: string } | { reasons: string[] }> {
  const nav = (globalThis as { navigator?: { gpu?: GPU } }).navigator;
  if (nav?.gpu) {
    const adapter = await nav.gpu.requestAdapter(
      req.powerPreference ? { powerPreference: req.powerPreference } : undefined,
    );
    if (adapter) return { adapter, label: 'browser WebGPU' };
    const compat = await nav.gpu.requestAdapter({ featureLevel: 'compatibility' });
    if (compat) return { adapter: compat, label: 'browser WebGPU (compatibility)' };
    return {
      reasons: ['navigator.gpu exists but requestAdapter() returned null (WebGPU disabled or blocklisted)'],
    };
  }
  const isNode = typeof process !== 'undefined' && !!process.versions?.node;
  if (!isNode) return { reasons: ['this browser has no WebGPU (navigator.gpu is undefined)'] };
  // Dawn's loader in Node; a stub in browser builds (package.json "imports", `#node-adapter`).
  const { requestNodeAdapter } = await import('#node-adapter');
  return requestNodeAdapter(req.powerPreference);
}

/**
 * Why WebGPU cannot run here, or undefined when it can. It acquires the shared device, so
 * asking costs one adapter search per process, as running would.
 */
export async function webgpuUnavailableReason(req: DeviceRequest = {}): Promise<string | undefined> {
  try {
    await acquireDevice(req);
    return undefined;
  } catch (e) {
    return e instanceof BackendUnavailableError
      ? e.message
      : `WebGPU device request failed: ${(e as Error).message}`;
  }
}

let shared: Promise<GpuContext> | undefined;

/**
 * The process-wide device, made on first use: the adapter's limits are read, not assumed,
 * and larger buffers are requested where the adapter allows them.
 */
export function acquireDevice(req: DeviceRequest = {}): Promise<GpuContext> {
  shared ??= (async () => {
    const found = await findAdapter(req);
    if ('reasons' in found)
      throw new BackendUnavailableError(`no WebGPU adapter: ${found.reasons.join('; ')}`);
    const { adapter, label } = found;
    const al = adapter.limits;
    // Timestamp queries, where the adapter has them, time each kernel for profiles.
    const requiredFeatures: GPUFeatureName[] = adapter.features.has('timestamp-query')
      ? ['timestamp-query']
      : [];
    const device = await adapter.requestDevice({
      requiredFeatures,
      requiredLimits: {
        maxStorageBufferBindingSize: al.maxStorageBufferBindingSize,
        maxBufferSize: al.maxBufferSize,
      },
    });
    const { text, software } = describeAdapter(adapter, label);
    device.lost.then(() => {
      shared = undefined;
    });
    return { device, adapterDescription: text, software, limits: renderLimits(device) };
  })();
  shared.catch(() => {
    shared = undefined;
  });
  return shared;
}

/**
 * The context a compile runs on: the caller's own GPUDevice, or the shared one this package
 * finds; and what runs it in the contract's terms (a software adapter, llvmpipe or
 * SwiftShader, computes on the CPU).
 */
export async function runContext(
  req: DeviceRequest & { gpuDevice?: WebGpuDevice },
): Promise<{ ctx: GpuContext; device: RunDevice }> {
  const ctx = req.gpuDevice ? contextForDevice(req.gpuDevice) : await acquireDevice(req);
  return { ctx, device: { kind: ctx.software ? 'cpu' : 'gpu', name: ctx.adapterDescription } };
}
