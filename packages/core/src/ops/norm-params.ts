import type { ParamRequirement } from './op-def.js';

/** A per-channel float32 vector filled with `value`: the norms' affine weights and statistics. */
export function channelVector(
  role: string,
  c: number,
  kind: ParamRequirement['kind'],
  value: number,
): ParamRequirement {
  return { role, shape: [c], kind, dtype: 'float32', init: { kind: 'constant', value } };
}

/** A norm's affine pair as PyTorch initialises it: weight 1, bias 0. */
export function affineParams(c: number): ParamRequirement[] {
  return [channelVector('weight', c, 'parameter', 1), channelVector('bias', c, 'parameter', 0)];
}
