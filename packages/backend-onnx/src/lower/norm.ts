import { floatAttr, floatTensor, int64Tensor } from '../proto.js';
import { emitStep, type Lowering } from './context.js';

/** batchNorm (kept unfolded) -> BatchNormalization in inference mode. */
export const lowerBatchNorm: Lowering<'batchNorm'> = (node, ctx) => {
  const inputs = [node.inputs[0]!];
  for (const role of ['weight', 'bias', 'running_mean', 'running_var']) {
    const t = ctx.weight(node, role);
    inputs.push(ctx.addInitializer(floatTensor(node.params[role]!, t.shape, t.data)));
  }
  const { eps, momentum } = node.attrs;
  // ONNX's momentum weighs the old running value: 1 - PyTorch's momentum.
  ctx.emit(node, 'BatchNormalization', inputs, [
    floatAttr('epsilon', eps),
    floatAttr('momentum', 1 - momentum),
  ]);
};

/**
 * groupNorm -> Reshape to [N, groups, -1], InstanceNormalization (unit scale, zero shift: one
 * mean and biased variance per sample and group), Reshape back, then the per-channel affine.
 * (GroupNormalization needs opset 18, and its scale was per group until opset 21.)
 */
export const lowerGroupNorm: Lowering<'groupNorm'> = (node, ctx) => {
  const { groups, eps } = node.attrs;
  const shape = ctx.shape(node.inputs[0]!);
  const c = shape[1]!;
  const spatial = shape.slice(2).map(() => 1);
  const name = (s: string) => `${node.name}/${s}`;
  const grouped = ctx.addInitializer(int64Tensor(name('grouped'), [0, groups, -1]));
  const back = ctx.addInitializer(int64Tensor(name('shape'), [0, ...shape.slice(1)]));
  const ones = ctx.addInitializer(floatTensor(name('ones'), [groups], new Float32Array(groups).fill(1)));
  const zeros = ctx.addInitializer(floatTensor(name('zeros'), [groups], new Float32Array(groups)));
  const w = ctx.weight(node, 'weight');
  const b = ctx.weight(node, 'bias');
  const scale = ctx.addInitializer(floatTensor(node.params.weight!, [c, ...spatial], w.data));
  const shift = ctx.addInitializer(floatTensor(node.params.bias!, [c, ...spatial], b.data));
  let y = emitStep(ctx, node, 'group', 'Reshape', [node.inputs[0]!, grouped]);
  y = emitStep(
    ctx,
    node,
    'normalise',
    'InstanceNormalization',
    [y, ones, zeros],
    [floatAttr('epsilon', eps)],
  );
  y = emitStep(ctx, node, 'ungroup', 'Reshape', [y, back]);
  y = emitStep(ctx, node, 'scale', 'Mul', [y, scale]);
  emitStep(ctx, node, 'shift', 'Add', [y, shift], [], true);
};
