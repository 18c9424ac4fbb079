import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const root = resolve(import.meta.dirname, '..', '..', '..');

describe('changesets', () => {
  it('the pending changesets give a release plan with a bump for every published package', () => {
    const out = join(mkdtempSync(join(tmpdir(), 'cardinal-cs-')), 'plan.json');
    const r = spawnSync('pnpm', ['changeset', 'status', `--output=${out}`], { cwd: root, encoding: 'utf8' });
    expect(r.status, r.stderr + r.stdout).toBe(0);
    const plan = JSON.parse(readFileSync(out, 'utf8')) as {
      releases: { name: string; type: string; newVersion: string }[];
    };
    const names = plan.releases.filter((x) => x.type !== 'none').map((x) => x.name);
    for (const pkg of ['@cardinal/core', '@cardinal/testkit', '@cardinal/backend-onnx', '@cardinal/cli'])
      expect(names).toContain(pkg);
  });
});
