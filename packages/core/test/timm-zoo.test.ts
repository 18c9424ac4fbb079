import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createModel, summarize, ZOO } from '../src/index.js';

// timm's own parameter counts (random init), made by tools/timm/gen_zoo.py with Debian's
// python3-torch from timm's source at the commit the file names.
const reference = JSON.parse(
  readFileSync(join(import.meta.dirname, 'reference', 'timm-params.json'), 'utf8'),
) as {
  timm_commit: string;
  params: Record<string, number>;
};

describe(`the zoo holds every entrypoint of timm's resnet.py, resnest.py and sknet.py (timm ${reference.timm_commit.slice(0, 8)})`, () => {
  it('lists all 94 by their timm names', () => {
    const timm = ZOO.filter((e) => e.source.startsWith('timm/')).map((e) => e.name);
    expect(timm.sort()).toEqual(Object.keys(reference.params).sort());
    expect(timm).toHaveLength(94);
  });

  it.each(Object.entries(reference.params))('%s has timm’s parameter count', (name, count) => {
    // resnext101_32x32d (469M) is above the default limit of 2^28 parameters: lifted here.
    const g = createModel(name, { inputShape: [1, 3, 64, 64], limits: { maxParams: 2 ** 29 } });
    expect(summarize(g).params).toBe(count);
  });
});
