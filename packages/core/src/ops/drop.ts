import type { OpDef } from './op-def.js';

// Training-only regularisers: in evaluation (what the reference kernel defines) each is the
// identity, and prepareForInference removes them. The trainer (backend-tfjs) applies them.

export const dropPathOp: OpDef<'dropPath'> = {
  name: 'dropPath',
  arity: [1, 1],
  attrs: { rate: { kind: 'num' } },
  inferShapes: (shapes) => [[...shapes[0]!]],
  params: () => [],
  macs: () => 0,
  reference: ({ inputs }) => [inputs[0]!],
  // Training graphs take rate 0 only (trainingGraph refuses others): the identity.
  grad: (_node, [dy]) => ({ inputs: [dy] }),
};

export const dropBlockOp: OpDef<'dropBlock'> = {
  name: 'dropBlock',
  arity: [1, 1],
  attrs: {
    rate: { kind: 'num' },
    blockSize: { kind: 'int', default: 7 },
    gammaScale: { kind: 'num', default: 1 },
  },
  inferShapes: (shapes) => [[...shapes[0]!]],
  params: () => [],
  macs: () => 0,
  reference: ({ inputs }) => [inputs[0]!],
  // Training graphs take rate 0 only (trainingGraph refuses others): the identity.
  grad: (_node, [dy]) => ({ inputs: [dy] }),
};
