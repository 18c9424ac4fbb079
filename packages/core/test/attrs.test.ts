import { describe, expect, it } from 'vitest';
import { createModel, GraphBuilder, GraphError, parseGraph, serializeGraph } from '../src/index.js';

describe('typed op attributes, declared once per op', () => {
  it('fill their declared defaults, as PyTorch defines them', () => {
    const b = new GraphBuilder('g');
    const x = b.input('input', [1, 4, 8, 8]);
    const [y] = b.node('conv2d', [x], { outChannels: 4, kernel: [3, 3] });
    const [z] = b.node('maxPool', [y!], { kernel: [2, 2] });
    b.output(b.batchNorm(z!, 'bn'));
    const [conv, pool, bn] = b.build().nodes;
    expect(conv!.attrs).toEqual({
      outChannels: 4,
      kernel: [3, 3],
      stride: [1, 1],
      padding: [0, 0, 0, 0],
      dilation: [1, 1],
      groups: 1,
      bias: false,
    });
    // Pooling's stride defaults to its kernel (torch.nn.MaxPool2d).
    expect(pool!.attrs).toMatchObject({ kernel: [2, 2], stride: [2, 2], ceilMode: false });
    expect(bn!.attrs).toEqual({ eps: 1e-5, momentum: 0.1 });
  });

  it('are refused when wrong or unknown, naming the module path', () => {
    const b = new GraphBuilder('g');
    const x = b.input('input', [1, 4, 8, 8]);
    expect(() => b.node('conv2d', [x], { outChannels: 4, kernel: [3] }, 'stem')).toThrowError(
      /stem: attribute 'kernel' must be 2 integers, got \[3\]/,
    );
    expect(() => b.node('relu', [x], { alpha: 0.1 }, 'act')).toThrowError(
      /act: relu has no attribute 'alpha'/,
    );
  });

  it('read from graph documents written before defaults were stored, and refuse unknown ones', () => {
    const doc = JSON.parse(serializeGraph(createModel('resnet18', { inputShape: [1, 3, 32, 32] })));
    const conv = doc.graph.nodes[0];
    // An older writer left out attributes that had their default value.
    conv.attrs = {
      outChannels: conv.attrs.outChannels,
      kernel: conv.attrs.kernel,
      stride: [2, 2],
      padding: [3, 3, 3, 3],
    };
    const g = parseGraph(JSON.stringify(doc));
    expect(g.nodes[0]!.attrs).toMatchObject({ dilation: [1, 1], groups: 1, bias: false });
    conv.attrs.tile = 4;
    expect(() => parseGraph(JSON.stringify(doc))).toThrowError(GraphError);
    expect(() => parseGraph(JSON.stringify(doc))).toThrowError(/conv1: conv2d has no attribute 'tile'/);
  });
});
