/// <reference types="@webgpu/types" preserve="true" />
// The public types name GPUDevice and friends; this brings their declarations to consumers.
export {
  compileWebGpu,
  type WebGpuCompileOptions,
  type WebGpuExecutable,
  webgpuBackend,
  webgpuBackend as backend,
} from './backend.js';
export type { ConvTiling } from './codegen/conv.js';
export type { EpilogueStep } from './codegen/epilogue.js';
export type { BindingSlot, KernelSource, RenderLimits } from './codegen/kernel.js';
export * from './gpu/device.js';
export { type ArenaLayout, planArena } from './plan/arena.js';
export { type LowerOptions, lowerGraph, type Plan, type PlanStep } from './plan/lower.js';
export type { KernelProfile } from './runtime/program.js';
