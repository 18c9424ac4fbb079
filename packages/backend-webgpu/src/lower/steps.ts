/** Step helpers shared by the forward and training lowerings. */
import type { KernelSource } from '../codegen/kernel.js';
import type { TwoLevelSum } from '../codegen/partials.js';
import type { PlanConstant, PlanStep } from '../plan/lower.js';
import type { GroupContext } from './index.js';

/**
 * A step writing `output` from `inputs`. Of `constants`, it keeps those the kernel binds, so a
 * group of kernels can be handed one set.
 */
export function kernelStep(
  c: GroupContext,
  kernel: KernelSource,
  inputs: string[],
  output: string,
  constants: Record<string, PlanConstant> = {},
): PlanStep {
  const bound = kernel.bindings.flatMap((b) =>
    b.kind === 'constant' && constants[b.name] ? [[b.name, constants[b.name]!] as const] : [],
  );
  return c.step(kernel, { inputs, output, operands: [], constants: Object.fromEntries(bound) });
}

/** The node's parameter `role` as a constant, keyed so that every plan shares one buffer. */
export const param = (c: GroupContext, name: string, role: string): PlanConstant => ({
  key: `${name}.${role}`,
  make: () => c.weight(role),
});

/** A two-level sum's steps: partial sums of `inputs` into scratch, then their combination into `output`. */
export function twoLevelSteps(
  c: GroupContext,
  sum: TwoLevelSum,
  inputs: string[],
  output: string,
  constants: Record<string, PlanConstant> = {},
): PlanStep[] {
  const partials = c.scratch(`${output}::partials`, [sum.outputs * sum.parts]);
  return [
    kernelStep(c, sum.partial, inputs, partials, constants),
    kernelStep(c, sum.finish, [partials], output, constants),
  ];
}
