/**
 * The WebGPU types this package's public declarations name, read off whatever declares WebGPU's
 * globals in the program that imports it: TypeScript's own lib.dom (6.0 and later) or
 * `@webgpu/types` (what older TypeScript needs). Naming `GPUDevice` directly would make these
 * declarations bring `@webgpu/types` along, and that collides with lib.dom's copy in
 * TypeScript 6 and 7 (TS2300 "Duplicate identifier"). Where neither is loaded, no WebGPU object
 * exists to pass, and these are `never`.
 */
type Globals = typeof globalThis;
export type WebGpuDevice = Globals extends { GPUDevice: { prototype: infer T } } ? T : never;
export type WebGpuAdapter = Globals extends { GPUAdapter: { prototype: infer T } } ? T : never;
export type WebGpuBuffer = Globals extends { GPUBuffer: { prototype: infer T } } ? T : never;
export type WebGpuComputePipeline = Globals extends { GPUComputePipeline: { prototype: infer T } }
  ? T
  : never;
/** WebGPU's GPUPowerPreference. */
export type WebGpuPowerPreference = 'low-power' | 'high-performance';
