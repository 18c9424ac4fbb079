// A user's own architecture, written with core's builder API (the core README's example): a
// ResNeXt stage, a selective-kernel stage and a split-attention stage under a two-layer head.
import {
  bottleneck,
  downsampleAvg,
  downsampleConv,
  type Graph,
  GraphBuilder,
  resnestBottleneck,
  selectiveKernelBottleneck,
  type Tensor,
} from '@cardinal/core';

export const INPUT_SHAPE = [2, 3, 64, 64];

export function triAttentionNet(inputShape: number[] = INPUT_SHAPE, numClasses = 10): Graph {
  const b = new GraphBuilder('tri_attention_net');
  let x = b.input('input', inputShape);
  x = b.relu(
    b.batchNorm(b.conv2d(x, 'stem.conv', { outChannels: 32, kernel: 3, stride: 2, padding: 1 }), 'stem.bn'),
  );
  x = b.scope('stage1', () =>
    b.scope(0, () =>
      bottleneck(b, x, {
        inplanes: 32,
        planes: 16,
        cardinality: 8,
        baseWidth: 8,
        downsample: downsampleConv({ inChannels: 32, outChannels: 64 }),
      }),
    ),
  );
  x = b.scope('stage2', () =>
    b.scope(0, () =>
      selectiveKernelBottleneck(b, x, {
        inplanes: 64,
        planes: 32,
        stride: 2,
        cardinality: 8,
        baseWidth: 8,
        skKwargs: { rdRatio: 1 / 8 },
        downsample: downsampleAvg({ inChannels: 64, outChannels: 128, stride: 2 }),
      }),
    ),
  );
  x = b.scope('stage3', () =>
    b.scope(0, () =>
      resnestBottleneck(b, x, {
        inplanes: 128,
        planes: 64,
        stride: 2,
        radix: 2,
        avd: true,
        downsample: downsampleAvg({ inChannels: 128, outChannels: 256, stride: 2 }),
      }),
    ),
  );
  x = b.flatten(b.globalAvgPool(x, 'pool'));
  x = b.relu(b.linear(x, 'head.fc1', 128));
  b.output(b.linear(x, 'head.fc2', numClasses));
  return b.build();
}

/** The same input everywhere (Node and the browser): a smooth pattern, no random source. */
export function sampleInput(shape: number[] = INPUT_SHAPE): Tensor {
  const n = shape.reduce((a, b) => a * b, 1);
  return { shape, data: Float32Array.from({ length: n }, (_, i) => Math.sin(i * 0.37) * 1.5) };
}
