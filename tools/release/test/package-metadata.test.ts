import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const root = resolve(import.meta.dirname, '..', '..', '..');
const PACKAGES = [
  'packages/core',
  'packages/testkit',
  'packages/train',
  'packages/backend-onnx',
  'packages/backend-tfjs',
  'packages/backend-webgpu',
  'packages/pretrained',
  'packages/serve',
  'apps/cli',
];

describe('publishable packages', () => {
  it.each(PACKAGES)('%s has exports, types, files, a README with an example, a license', (dir) => {
    const pkg = JSON.parse(readFileSync(join(root, dir, 'package.json'), 'utf8'));
    expect(pkg.private).not.toBe(true);
    expect(pkg.license).toBe('MIT');
    expect(pkg.exports['.'].import).toMatch(/^\.\/dist\//);
    if (dir !== 'apps/cli') expect(pkg.exports['.'].types).toMatch(/\.d\.ts$/);
    expect(pkg.files).toContain('dist');
    expect(readFileSync(join(root, dir, 'README.md'), 'utf8')).toMatch(/```(ts|sh)\n/);
  });
});
