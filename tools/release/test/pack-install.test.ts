import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const root = resolve(import.meta.dirname, '..', '..', '..');
const PACKAGES = [
  'packages/core',
  'packages/testkit',
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

  it('pack, install from the tarballs alone in a fresh project, and run', async () => {
    const out = mkdtempSync(join(tmpdir(), 'cardinal-pack-'));
    for (const dir of PACKAGES) {
      execFileSync('pnpm', ['pack', '--pack-destination', out], { cwd: join(root, dir), stdio: 'pipe' });
    }
    const tarballs = readdirSync(out).filter((f) => f.endsWith('.tgz'));
    expect(tarballs).toHaveLength(PACKAGES.length);
    const tgz = (name: string) =>
      `file:${join(out, tarballs.find((t) => t.startsWith(`cardinal-${name}-`))!)}`;
    // Workspace ranges must have been rewritten to real versions.
    const packed = execFileSync(
      'tar',
      [
        '-xOzf',
        join(out, tarballs.find((t) => t.startsWith('cardinal-backend-onnx'))!),
        'package/package.json',
      ],
      {
        encoding: 'utf8',
      },
    );
    expect(JSON.parse(packed).dependencies['@cardinal/core']).toMatch(/^\^\d+\.\d+\.\d+$/);

    const project = mkdtempSync(join(tmpdir(), 'cardinal-consumer-'));
    const local = {
      '@cardinal/core': tgz('core'),
      '@cardinal/testkit': tgz('testkit'),
      '@cardinal/backend-onnx': tgz('backend-onnx'),
      '@cardinal/backend-tfjs': tgz('backend-tfjs'),
      '@cardinal/backend-webgpu': tgz('backend-webgpu'),
      '@cardinal/pretrained': tgz('pretrained'),
      '@cardinal/serve': tgz('serve'),
      '@cardinal/cli': tgz('cli'),
    };
    writeFileSync(
      join(project, 'package.json'),
      JSON.stringify({
        name: 'consumer',
        private: true,
        type: 'module',
        dependencies: {
          ...local,
          'onnxruntime-node': '^1.30.0',
          '@tensorflow/tfjs': '^4.22.0',
          '@tensorflow/tfjs-backend-wasm': '^4.22.0',
          webgpu: '^0.6.2',
        },
        // Nested @cardinal dependencies resolve to the same tarballs, never to a registry.
        pnpm: { overrides: local },
      }),
    );
    // pnpm would otherwise auto-install the optional tfjs-node peers, whose install downloads
    // libtensorflow; a user opts into those (see packages/backend-tfjs/README.md).
    writeFileSync(join(project, '.npmrc'), 'auto-install-peers=false\nonnxruntime-node-install=skip\n');
    writeFileSync(
      join(project, 'main.js'),
      [
        "import { createModel, initTestWeights, referenceBackend } from '@cardinal/core';",
        "import { onnxBackend } from '@cardinal/backend-onnx';",
        "import { tfjsBackend } from '@cardinal/backend-tfjs';",
        "import { webgpuBackend } from '@cardinal/backend-webgpu';",
        "const graph = createModel('resnext50_32x4d', { inputShape: [1, 3, 224, 224] });",
        'const weights = initTestWeights(graph);',
        'const input = { input: { shape: [1, 3, 224, 224], data: new Float32Array(3 * 224 * 224).fill(0.5) } };',
        'const gpu = (await webgpuBackend.isAvailable()).available ? [webgpuBackend] : [];',
        'for (const backend of [onnxBackend, tfjsBackend, referenceBackend, ...gpu]) {',
        '  const model = await backend.compile(graph, weights);',
        '  const y = (await model.run(input))[graph.outputs[0]];',
        '  model.dispose();',
        "  console.log(`${backend.name}: output shape [${y.shape.join(', ')}]`);",
        '}',
      ].join('\n'),
    );
    const env = {
      ...process.env,
      ONNXRUNTIME_NODE_INSTALL: 'skip',
      npm_config_onnxruntime_node_install: 'skip',
    };
    const install = spawnSync(
      'pnpm',
      ['install', '--prefer-offline', '--reporter=silent', '--ignore-workspace'],
      { cwd: project, env, encoding: 'utf8' },
    );
    expect(install.status, install.stderr + install.stdout).toBe(0);
    // Installed as real copies from the tarballs, not links into the workspace.
    expect(
      readFileSync(join(project, 'node_modules', '@cardinal', 'core', 'package.json'), 'utf8'),
    ).toContain('"name": "@cardinal/core"');

    const run = spawnSync(process.execPath, ['main.js'], { cwd: project, encoding: 'utf8' });
    expect(run.status, run.stderr).toBe(0);
    expect(run.stdout).toContain('onnx: output shape [1, 1000]');
    expect(run.stdout).toContain('reference: output shape [1, 1000]');
    expect(run.stdout).toContain('tfjs: output shape [1, 1000]');
    const { webgpuBackend } = await import('@cardinal/backend-webgpu');
    if ((await webgpuBackend.isAvailable()).available)
      expect(run.stdout).toContain('webgpu: output shape [1, 1000]');

    const cli = spawnSync(
      join(project, 'node_modules', '.bin', 'cardinal'),
      ['summary', 'resnext50_32x4d', '--json'],
      { cwd: project, encoding: 'utf8' },
    );
    expect(cli.status, cli.stderr).toBe(0);
    expect(JSON.parse(cli.stdout).params).toBe(25_028_904);
    // The installed classify: sharp, the preprocessing workers (dist/preprocess-worker.js), labels.
    const photo = '/usr/lib/python3/dist-packages/skimage/data/chelsea.png';
    const classify = spawnSync(
      join(project, 'node_modules', '.bin', 'cardinal'),
      ['classify', photo, photo, '--model', 'resnet18', '--json', '--batch-size', '1'],
      { cwd: project, encoding: 'utf8' },
    );
    expect(classify.status, classify.stderr).toBe(0);
    const results = (JSON.parse(classify.stdout) as { results: { top: { label: string }[] }[] }).results;
    expect(results).toHaveLength(2);
    expect(results[0]!.top).toHaveLength(5);
    expect(results[0]!.top).toEqual(results[1]!.top);
    console.log(
      `pack-install: ${tarballs.join(', ')} installed in ${project}; ${run.stdout.trim().replace(/\n/g, '; ')}`,
    );
  }, 600_000);
});
