import type { GraphBuilder, SymbolicTensor } from '../ir/builder.js';

/** timm's create_aa: BlurPool2d(channels, stride), or AvgPool2d(stride) (kernel = stride). */
export function aaLayer(
  b: GraphBuilder,
  x: SymbolicTensor,
  kind: 'avg' | 'blur',
  stride: number,
  module: string | number,
): SymbolicTensor {
  return kind === 'blur'
    ? b.blurPool(x, { filterSize: 3, stride }, module)
    : b.avgPool(x, { kernel: stride, stride }, String(module));
}
