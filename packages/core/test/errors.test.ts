import { describe, expect, it } from 'vitest';
import {
  buildFromJson,
  ConfigError,
  createModel,
  GraphBuilder,
  GraphError,
  InputError,
  initTestWeights,
  parseGraph,
  parseResNetConfig,
  runReference,
  ShapeError,
  serializeGraph,
  UnknownModelError,
} from '../src/index.js';

describe('bad input gets a specific error', () => {
  it('channels not divisible by groups names the module path and the shape', () => {
    const b = new GraphBuilder('g');
    const x = b.input('input', [1, 30, 8, 8]);
    expect(() =>
      b.scope('layer1', () => b.conv2d(x, 'conv2', { outChannels: 32, kernel: 3, groups: 4 })),
    ).toThrowError(
      new ShapeError('layer1.conv2: input channels 30 are not divisible by groups 4 (input [1, 30, 8, 8])'),
    );
  });

  it('an unknown model name', () => {
    expect(() => createModel('resnet9000')).toThrowError(UnknownModelError);
    expect(() => createModel('resnet9000')).toThrowError(
      /unknown model 'resnet9000'; did you mean resnet200[a-z0-9_, ]*\?/,
    );
    // The closest name first: one letter missing.
    expect(() => createModel('resnext50_32x4')).toThrowError(/did you mean resnext50_32x4d[,?]/);
    expect(() => createModel('zzzz')).toThrowError(/run 'cardinal models' for the list/);
  });

  it('an unknown block name', () => {
    expect(() => parseResNetConfig({ block: 'FancyBlock', layers: [1] }, 'm.json')).toThrowError(
      /^m\.json: unknown block 'FancyBlock'; known blocks: BasicBlock, Bottleneck/,
    );
  });

  it('an unknown config key and a wrong type are named with their path', () => {
    expect(() =>
      parseResNetConfig({ block: 'Bottleneck', layers: [1, 1], stem_widht: 3 }, 'c.json'),
    ).toThrowError(ConfigError);
    expect(() =>
      parseResNetConfig({ block: 'Bottleneck', layers: [1, 1], stem_widht: 3 }, 'c.json'),
    ).toThrowError(/stem_widht/);
    expect(() => parseResNetConfig({ block: 'Bottleneck', layers: [1, 'x'] }, 'c.json')).toThrowError(
      /^c\.json: layers\.1: /,
    );
  });

  it('an unknown block module in a block config', () => {
    expect(() =>
      buildFromJson(
        { module: 'timm.layers.Mystery', args: {} },
        { inputShape: [1, 8, 4, 4], source: 'b.json' },
      ),
    ).toThrowError(/^b\.json: unknown block module 'timm\.layers\.Mystery'/);
  });

  it('a wrong input shape at run time names the expected and actual shapes', () => {
    const g = createModel('resnet18', { inputShape: [1, 3, 32, 32], numClasses: 10 });
    const w = initTestWeights(g);
    const x = { shape: [1, 3, 32, 31], data: new Float32Array(3 * 32 * 31) };
    expect(() => runReference(g, w, { input: x })).toThrowError(InputError);
    expect(() => runReference(g, w, { input: x })).toThrowError(
      "input 'input': expected shape [1, 3, 32, 32], got [1, 3, 32, 31]",
    );
  });

  it('a model input with the wrong channel count at build time', () => {
    expect(() => createModel('resnet18', { inputShape: [1, 1, 32, 32] })).toThrowError(
      /input shape must be \[N, 3, H, W\]/,
    );
  });

  it('an input too small for a layer names the layer and the shapes', () => {
    const b = new GraphBuilder('g');
    const x = b.input('input', [1, 3, 4, 4]);
    expect(() => b.conv2d(x, 'stem', { outChannels: 8, kernel: 7 })).toThrowError(
      new ShapeError('stem: input [1, 3, 4, 4] is too small for kernel [7, 7] with padding [0, 0, 0, 0]'),
    );
  });
});

describe('names from files are own keys only', () => {
  it('a graph document naming Object.prototype members is a GraphError, not a crash', () => {
    const doc = JSON.parse(serializeGraph(createModel('resnet18', { inputShape: [1, 3, 32, 32] })));
    for (const name of ['constructor', 'toString', '__proto__']) {
      const bad = structuredClone(doc);
      bad.graph.nodes[0].inputs = [name];
      expect(() => parseGraph(JSON.stringify(bad))).toThrowError(GraphError);
      const badParam = structuredClone(doc);
      badParam.graph.nodes[0].params.weight = name;
      expect(() => parseGraph(JSON.stringify(badParam))).toThrowError(/is not declared/);
    }
  });
});
