import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { onnxBackend } from '@cardinal/backend-onnx';
import { CardinalError, InternalError, UsageError } from '@cardinal/core';
import { loadBackend, openModel } from '@cardinal/pretrained';
import { modelEntry, serve } from '@cardinal/serve';
import { fixturesDir } from '@cardinal/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { describeError } from '../src/errors.js';

/**
 * The user-reachable error paths of the CLI and the server, walked as a user meets them: each
 * a CardinalError subclass with one line (exit 1, or 2 for usage; an HTTP 4xx with one line),
 * never a stack trace, never exit 70. hostile.test.ts walks the damaged files in depth.
 */
const BIN = resolve(import.meta.dirname, '..', 'dist', 'bin.js');
const F = join(fixturesDir(), 'tiny_resnext');
const tmp = mkdtempSync(join(tmpdir(), 'cardinal-errors-'));
const at = (name: string) => join(tmp, name);
writeFileSync(at('garbage.pth'), 'not a checkpoint');
writeFileSync(at('bad.json'), '{"block": ');
writeFileSync(at('serve.json'), '[{"model": 3}]');
writeFileSync(at('text.png'), 'not an image');

/** A stack frame as V8 prints it. */
const STACK = /^\s+at .+[(:]\d+/m;

const CASES: [string, string[], 1 | 2, RegExp][] = [
  ['an unknown command', ['frobnicate'], 2, /frobnicate/],
  ['an unknown flag', ['models', '--bogus'], 2, /bogus/],
  ['run without a model', ['run', '--random-input'], 2, /model/],
  ['an unknown zoo name', ['run', 'resnet_nonesuch', '--random-input'], 1, /resnet_nonesuch/],
  [
    'an unknown backend',
    ['run', 'resnet18', '--backend', 'nonesuch', '--random-input'],
    2,
    /unknown backend 'nonesuch'/,
  ],
  [
    'a missing weights file',
    ['run', 'resnet18', '--weights', at('none.pth'), '--random-input'],
    1,
    /none\.pth/,
  ],
  [
    'a weights file that is no checkpoint',
    ['run', 'resnet18', '--weights', at('garbage.pth'), '--random-input'],
    1,
    /garbage\.pth/,
  ],
  ['a config that is not JSON', ['summary', at('bad.json')], 1, /bad\.json/],
  [
    'an image that does not decode',
    ['classify', at('text.png'), '--model', join(F, 'meta.json')],
    1,
    /text\.png/,
  ],
  ['a missing image', ['classify', at('none.png'), '--model', join(F, 'meta.json')], 1, /none\.png/],
  ['serve without a model', ['serve'], 2, /expected a model/],
  ['serve on port 70000', ['serve', 'resnet18', '--port', '70000'], 2, /--port/],
  [
    'a serve config of the wrong shape',
    ['serve', '--config', at('serve.json')],
    1,
    /serve\.json: models\[0\]/,
  ],
  ['export without --out', ['export', 'resnet18', '--format', 'onnx'], 2, /--out/],
  ['train without --data', ['train', join(F, 'meta.json'), '--out', at('t.safetensors')], 2, /--data/],
  [
    'train with every module frozen',
    [
      'train',
      join(F, 'meta.json'),
      '--data',
      'synthetic',
      '--out',
      at('t.safetensors'),
      '--freeze',
      'stem,layer1,layer2,layer3,layer4,fc',
    ],
    2,
    /--freeze stem,layer1,layer2,layer3,layer4,fc freezes every parameter of .*nothing would train/,
  ],
];

describe('the CLI: every user mistake is one line, exit 1 or 2, no stack trace', () => {
  it.each(CASES)('%s', (_what, args, code, line) => {
    const r = spawnSync(process.execPath, [BIN, ...args], { cwd: tmp, encoding: 'utf8', timeout: 60_000 });
    expect(r.status, r.stderr).toBe(code);
    const lines = r.stderr
      .trim()
      .split('\n')
      .filter((l) => !l.startsWith('note:'));
    expect(lines, r.stderr).toHaveLength(1);
    expect(lines[0]).toMatch(line);
    expect(r.stderr).not.toMatch(STACK);
    expect(r.stderr).not.toMatch(/internal error/);
  });

  it('maps the error classes to exit codes: usage 2, other Cardinal errors 1, invariants 70', () => {
    expect(describeError(new UsageError('u')).code).toBe(2);
    expect(describeError(new CardinalError('E_FILE', 'f')).code).toBe(1);
    expect(describeError(new InternalError('i'))).toMatchObject({ code: 70, internal: true });
  });
});

describe('the library: a mistake through loadBackend or openModel is a CardinalError', () => {
  it('names the backend, the file or the model', async () => {
    await expect(loadBackend('nonesuch')).rejects.toBeInstanceOf(UsageError);
    await expect(openModel('resnet18', { weights: at('garbage.pth') })).rejects.toBeInstanceOf(CardinalError);
    await expect(openModel(at('bad.json'))).rejects.toThrow(/bad\.json/);
  });
});

describe('the server: every bad request is a 4xx with one line and no stack trace', () => {
  let base = '';
  let close: () => Promise<void> = async () => {};
  beforeAll(async () => {
    const opened = await openModel(join(F, 'meta.json'), { weights: join(F, 'weights.safetensors') });
    const server = await serve([modelEntry(opened, onnxBackend, 'tiny')], { port: 0, log: false });
    base = `${server.url}/v2`;
    close = () => server.close();
  }, 60_000);
  afterAll(() => close());

  const requests: [string, string, string, BodyInit | undefined, string, number][] = [
    ['an unknown model', 'POST', '/models/nonesuch/infer', '{}', 'application/json', 404],
    ['an unknown route', 'GET', '/nowhere', undefined, '', 404],
    ['a body that is not JSON', 'POST', '/models/tiny/infer', '{"inputs": [', 'application/json', 400],
    ['no inputs', 'POST', '/models/tiny/infer', '{}', 'application/json', 400],
    [
      'a body nested 200,000 levels deep',
      'POST',
      '/models/tiny/infer',
      `{"inputs":${'['.repeat(200_000)}${']'.repeat(200_000)}}`,
      'application/json',
      400,
    ],
    [
      'a tensor of the wrong shape',
      'POST',
      '/models/tiny/infer',
      JSON.stringify({
        inputs: [{ name: 'input', shape: [1, 3, 2, 2], datatype: 'FP32', data: [0, 0, 0, 0] }],
      }),
      'application/json',
      400,
    ],
    ['an image that does not decode', 'POST', '/models/tiny/classify', 'not an image', 'image/png', 400],
    ['a top that is no number', 'POST', '/models/tiny/classify?top=x', 'x', 'image/png', 400],
  ];
  it.each(requests)('%s', async (_what, method, path, body, type, status) => {
    const res = await fetch(`${base}${path}`, {
      method,
      ...(body === undefined ? {} : { body }),
      ...(type ? { headers: { 'content-type': type } } : {}),
    });
    expect(res.status).toBe(status);
    const json = (await res.json()) as { error: string };
    expect(typeof json.error).toBe('string');
    expect(json.error.split('\n')).toHaveLength(1);
    expect(json.error).not.toMatch(STACK);
  });
});
