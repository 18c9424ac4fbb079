import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createModel, ecaKernelSize, summarize, ZOO } from '../src/index.js';

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

const python = spawnSync('/usr/bin/python3', ['-c', 'import math'], { encoding: 'utf8' }).status === 0;
if (!python) console.log("ECA kernel check skipped: Debian's /usr/bin/python3 is not installed");

describe.skipIf(!python)("ECA's adaptive kernel size", () => {
  it('is what timm computes in Python (math.log(C, 2)) for every width up to 8192', () => {
    // timm's EcaModule: t = int(abs(math.log(channels, 2) + beta) / gamma); k = max(t if t % 2 else t + 1, 3)
    const code =
      "import math\nprint(','.join(str(max((lambda t: t if t % 2 else t + 1)(int(abs(math.log(c, 2) + 1) / 2)), 3)) for c in range(1, 8193)))";
    const r = spawnSync('/usr/bin/python3', ['-c', code], { encoding: 'utf8' });
    const want = r.stdout.trim().split(',').map(Number);
    expect(want).toHaveLength(8192);
    const got = want.map((_, i) => ecaKernelSize(i + 1));
    expect(got).toEqual(want);
  });
});
