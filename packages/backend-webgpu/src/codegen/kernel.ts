import { InternalError } from '@cardinal/core';
/**
 * A generated compute kernel: WGSL source with every shape constant baked in, the order of
 * its storage bindings, and how many invocations it needs. Pure data: the renderer makes
 * these, the runtime turns them into pipelines and dispatches. Nothing here touches a device.
 */
export interface KernelSource {
  /** Short kind for profiles and logs (`conv1x1`, `conv`, `maxPool`, ...). */
  kind: string;
  wgsl: string;
  /** Binding i of group 0 is `bindings[i]`; the last one is the output (read_write). */
  bindings: readonly BindingSlot[];
  /** Total invocations; the runtime dispatches ceil(invocations / workgroupSize) workgroups. */
  invocations: number;
  workgroupSize: number;
}

/** What a binding holds: a graph tensor (by role) or a constant buffer made at compile time. */
export type BindingSlot =
  | { kind: 'tensor'; role: 'input' | 'operand' | 'output'; index: number }
  | { kind: 'constant'; name: string };

/** Device limits the renderers must respect, read from the GPUDevice, never assumed. */
export interface RenderLimits {
  maxInvocationsPerWorkgroup: number;
  maxWorkgroupsPerDimension: number;
  maxStorageBuffersPerStage: number;
}

/** A float literal WGSL accepts for any JS number (always with a decimal point or exponent). */
export function f32Literal(v: number): string {
  if (!Number.isFinite(v)) throw new InternalError(`cannot bake non-finite constant ${v} into WGSL`);
  const s = String(v);
  return /[.eE]/.test(s) ? s : `${s}.0`;
}

export function u32Literal(v: number): string {
  if (!Number.isInteger(v) || v < 0 || v > 0xffffffff) throw new InternalError(`not a u32: ${v}`);
  return `${v}u`;
}

/** Workgroups for `invocations` as an (x, y) grid within the per-dimension limit. */
export function workgroupGrid(invocations: number, wg: number, maxPerDim: number): [number, number] {
  const groups = Math.max(1, Math.ceil(invocations / wg));
  if (groups <= maxPerDim) return [groups, 1];
  const y = Math.ceil(groups / maxPerDim);
  return [Math.ceil(groups / y), y];
}

/** Workgroup size: 64 where allowed (a good fit for CPU SIMD and GPU warps alike). */
export function pickWorkgroupSize(limits: RenderLimits, preferred = 64): number {
  return Math.max(1, Math.min(preferred, limits.maxInvocationsPerWorkgroup));
}

/**
 * The entry point shared by every kernel: a linear invocation id over a 2-D grid of
 * workgroups, guarded against the rounded-up tail.
 */
export function entryPoint(wg: number, invocations: number, limits: RenderLimits, body: string): string {
  const [nx] = workgroupGrid(invocations, wg, limits.maxWorkgroupsPerDimension);
  return `@compute @workgroup_size(${wg})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let gid = (wid.y * ${u32Literal(nx)} + wid.x) * ${u32Literal(wg)} + lid;
  if (gid >= ${u32Literal(invocations)}) { return; }
${body}
}
`;
}

export function storage(binding: number, name: string, access: 'read' | 'read_write', type = 'f32'): string {
  return `@group(0) @binding(${binding}) var<storage, ${access}> ${name}: array<${type}>;`;
}

/** A kernel that reads one tensor `x` and writes one tensor `y`, one invocation per `body` run. */
export function unaryKernel(
  kind: string,
  invocations: number,
  body: string,
  limits: RenderLimits,
): KernelSource {
  const wg = pickWorkgroupSize(limits);
  return {
    kind,
    wgsl: `${storage(0, 'x', 'read')}\n${storage(1, 'y', 'read_write')}\n${entryPoint(wg, invocations, limits, body)}`,
    bindings: [
      { kind: 'tensor', role: 'input', index: 0 },
      { kind: 'tensor', role: 'output', index: 0 },
    ],
    invocations,
    workgroupSize: wg,
  };
}

/** A read-only binding of a kernel: the WGSL name it has and what the runtime binds there. */
export interface KernelRead {
  name: string;
  slot: BindingSlot;
}

/** The step's i-th input tensor, read as `name`. */
export const inputRead = (name: string, index: number): KernelRead => ({
  name,
  slot: { kind: 'tensor', role: 'input', index },
});

/** The step's constant `name` (a parameter's current value), read under the same name. */
export const constantRead = (name: string): KernelRead => ({ name, slot: { kind: 'constant', name } });

/**
 * A kernel over any number of read-only bindings and one output `y`: one invocation per `body`
 * run, `helpers` (WGSL functions) before the entry point.
 */
export function gatherKernel(
  kind: string,
  reads: readonly KernelRead[],
  invocations: number,
  body: string,
  limits: RenderLimits,
  helpers = '',
  preferredWorkgroup = 64,
): KernelSource {
  if (reads.length + 1 > limits.maxStorageBuffersPerStage)
    throw new InternalError(
      `${kind}: ${reads.length + 1} storage buffers, over the device's ${limits.maxStorageBuffersPerStage} per stage`,
    );
  const wg = pickWorkgroupSize(limits, preferredWorkgroup);
  const decls = reads.map((r, i) => storage(i, r.name, 'read'));
  return {
    kind,
    wgsl: [
      ...decls,
      storage(reads.length, 'y', 'read_write'),
      helpers,
      entryPoint(wg, invocations, limits, body),
    ].join('\n'),
    bindings: [...reads.map((r) => r.slot), { kind: 'tensor', role: 'output', index: 0 }],
    invocations,
    workgroupSize: wg,
  };
}
