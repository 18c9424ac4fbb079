import { floatAttr, floatTensor } from '../proto.js';
import type { Lowering } from './context.js';

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
