/// <reference types="@webgpu/types" />
// For this package's own sources (compiled by the workspace through the `source` condition):
// TypeScript drops the reference from the emitted declarations, which name WebGPU's objects
// through gpu/types.ts, read off the consumer's own WebGPU declarations (lib.dom on
// TypeScript 6+, or @webgpu/types): nothing is brought along to collide.
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
export type * from './gpu/types.js';
export { type ArenaLayout, planArena } from './plan/arena.js';
export { type LowerOptions, lowerGraph, type Plan, type PlanStep } from './plan/lower.js';
export type { KernelProfile } from './runtime/program.js';
export { compileWebGpuTraining } from './train.js';
