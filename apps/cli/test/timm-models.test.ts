import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { resnetConfigSchema } from '@cardinal/core';
import { describe, expect, it } from 'vitest';
import { cli } from './helpers.js';

// timm's parameter counts, made from timm's own source under Debian's python3-torch
// (tools/timm/gen_zoo.py; the commit is in the file).
const reference = JSON.parse(
  readFileSync(
    join(import.meta.dirname, '..', '..', '..', 'packages', 'core', 'test', 'reference', 'timm-params.json'),
    'utf8',
  ),
) as { timm_commit: string; params: Record<string, number> };

describe(`cardinal models and summary: timm's ResNet family at ${reference.timm_commit.slice(0, 8)}`, () => {
  it('models --json lists every entrypoint of resnet.py, resnest.py and sknet.py with timm’s parameter count', async () => {
    const r = await cli('models', '--json');
    expect(r.code, r.stderr).toBe(0);
    const rows = new Map(
      (JSON.parse(r.stdout).models as { name: string; params: number }[]).map((m) => [m.name, m.params]),
    );
    for (const [name, count] of Object.entries(reference.params)) expect(rows.get(name), name).toBe(count);
  });

  it.each(['resnext101_32x32d', 'ecaresnet101d_pruned', 'test_resnet', 'resnetrs420', 'resnet50_gn'])(
    'summary %s --json gives timm’s count',
    async (name) => {
      const r = await cli('summary', name, '--json');
      expect(r.code, r.stderr).toBe(0);
      expect(JSON.parse(r.stdout).params).toBe(reference.params[name]);
    },
  );

  it('models --describe documents every knob of the declaration, with its default', async () => {
    const r = await cli('models', '--describe', '--json');
    expect(r.code, r.stderr).toBe(0);
    const knobs = JSON.parse(r.stdout).knobs as { name: string; default: unknown; description: string }[];
    const top = knobs.filter((k) => !k.name.includes('.')).map((k) => k.name);
    expect(top).toEqual(Object.keys(resnetConfigSchema.shape));
    for (const k of knobs) expect(k.description, k.name).not.toBe('');
    expect(knobs.find((k) => k.name === 'aa_layer')!.default).toBeNull();
    expect(knobs.find((k) => k.name === 'channels')!.default).toEqual([64, 128, 256, 512]);
  });

  it('an unknown timm name lists the nearest known ones', async () => {
    const r = await cli('summary', 'ecaresnet50', '--json');
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/unknown model 'ecaresnet50'; did you mean .*ecaresnet50d/);
  });
});
