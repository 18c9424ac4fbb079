import { spawnSync } from 'node:child_process';
import {
  cpSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  realpathSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { createServer, get } from 'node:http';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { gzipSync } from 'node:zlib';
import { webgpuBackend } from '@cardinal/backend-webgpu';
import { chromiumUnavailableReason, launchChromium, serveDirectory } from '@cardinal/testkit/browser';
import { afterAll, describe, expect, it } from 'vitest';
import { type Registry, startRegistry } from '../src/verdaccio.js';
import { copyWorkspace, workspacePackages } from '../src/workspace-copy.js';

/**
 * The release as a maintainer runs it and a stranger receives it: version with changesets on a
 * throw-away copy of the repository, publish every public package to a real npm registry
 * (Verdaccio on 127.0.0.1, proxying the public registry for everything that is not ours), then,
 * in fresh folders outside the monorepo, install from that registry alone with npm and with
 * pnpm, compile a user program under strict TypeScript (skipLibCheck false), run it on the
 * ONNX, tfjs and WebGPU backends and the installed `cardinal`, and bundle a browser app with
 * Vite that runs in Chromium and must give the ONNX backend's logits.
 */
const root = resolve(import.meta.dirname, '..', '..', '..');
const consumerTemplate = resolve(import.meta.dirname, '..', 'consumer');
const work = mkdtempSync(join(tmpdir(), 'cardinal-release-'));
const copy = join(work, 'repo');
let registry: Registry | undefined;
afterAll(() => {
  registry?.stop();
  rmSync(work, { recursive: true, force: true });
});

/**
 * Runs a command; its output on failure. The environment is this one without npm_config_*
 * (a test started by `pnpm test` inherits pnpm's, which would override the folders' .npmrc).
 */
function sh(
  cmd: string,
  args: string[],
  cwd: string,
  env: Record<string, string> = {},
  stdoutOnly = false,
): string {
  const clean = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^npm_config_/i.test(k)));
  const r = spawnSync(cmd, args, { cwd, encoding: 'utf8', env: { ...clean, ...env }, maxBuffer: 64 << 20 });
  if (r.status !== 0) {
    const out = (r.stderr + r.stdout).split('\n').filter((l) => !l.startsWith('npm notice'));
    throw new Error(
      `${cmd} ${args.join(' ')} (in ${cwd}) exited ${r.status}:\n${out.join('\n').slice(-4000)}`,
    );
  }
  return stdoutOnly ? r.stdout : r.stdout + r.stderr;
}
/** A GET on a fresh connection (Verdaccio closes idle keep-alive sockets that fetch would reuse). */
function download(url: string): Promise<Buffer> {
  return new Promise((res, rej) =>
    get(url, { agent: false }, (r) => {
      const chunks: Buffer[] = [];
      r.on('data', (c: Buffer) => chunks.push(c));
      r.on('end', () =>
        r.statusCode === 200 ? res(Buffer.concat(chunks)) : rej(new Error(`${url}: ${r.statusCode}`)),
      );
    }).on('error', rej),
  );
}
const seconds = (t0: number) => ((performance.now() - t0) / 1000).toFixed(1);
// The maintainer's commands (README, "Releasing"); only the registry in .npmrc differs from the
// public one. --reporter=default: the repository's .npmrc silences pnpm, and the check reads
// what was published; --no-git-checks: the copy is not a git checkout.
const changeset = (args: string[]) => sh('pnpm', ['changeset', ...args], copy);
const publish = () =>
  sh('pnpm', ['publish', '-r', '--access', 'public', '--no-git-checks', '--reporter=default'], copy);
const published = (out: string) =>
  [...out.matchAll(/^\+ (@cardinal\/[\w-]+)@(\S+)$/gm)].map((m) => `${m[1]}@${m[2]}`).sort();
// onnxruntime-node's install step would download CUDA libraries: a user skips it this way.
const installEnv = { ONNXRUNTIME_NODE_INSTALL: 'skip' };

describe.skipIf(process.env.CARDINAL_SKIP_REGISTRY === '1')('release through a real npm registry', () => {
  it('versions with changesets, publishes, republishes nothing, and a patch bump publishes only what changed', async () => {
    const t0 = performance.now();
    mkdirSync(join(work, 'registry'));
    registry = await startRegistry(join(work, 'registry'));
    copyWorkspace(root, copy);
    // The maintainer's checkout is installed (from the store this machine's install filled) and
    // built (dist/ came with the copy).
    sh(
      'pnpm',
      ['install', '--offline', '--ignore-scripts', '--no-frozen-lockfile', '--reporter=silent'],
      copy,
    );
    writeFileSync(join(copy, '.npmrc'), `${readFileSync(join(copy, '.npmrc'), 'utf8')}\n${registry.npmrc}`);

    changeset(['version']);
    const pkgs = workspacePackages(copy).filter((p) => !p.private);
    expect(pkgs.map((p) => p.name)).toContain('@cardinal/backend-webgpu');
    // Every public package got its bump and a changelog from the pending changesets.
    for (const p of pkgs) {
      expect(p.version, p.name).not.toBe('0.1.0');
      expect(readFileSync(join(p.dir, 'CHANGELOG.md'), 'utf8'), p.name).toMatch(
        new RegExp(`## ${p.version}`),
      );
    }
    const first = publish();
    expect(published(first)).toEqual(pkgs.map((p) => `${p.name}@${p.version}`).sort());

    // The same versions again: nothing is published, and pnpm says so.
    const again = publish();
    expect(published(again)).toEqual([]);
    expect(again).toMatch(/There are no new packages that should be published/);

    // A patch to one package: it, and the packages whose dependency on it changesets updates.
    writeFileSync(
      join(copy, '.changeset', 'release-check-patch.md'),
      '---\n"@cardinal/pretrained": patch\n---\n\nA patch to one package (release check).\n',
    );
    const before = new Map(workspacePackages(copy).map((p) => [p.name, p.version]));
    changeset(['version']);
    const bumped = workspacePackages(copy)
      .filter((p) => !p.private && p.version !== before.get(p.name))
      .map((p) => `${p.name}@${p.version}`)
      .sort();
    expect(bumped.some((b) => b.startsWith('@cardinal/pretrained@'))).toBe(true);
    expect(bumped.some((b) => b.startsWith('@cardinal/core@'))).toBe(false);
    expect(published(publish())).toEqual(bumped);
    // What a user downloads: each package's tarball as the registry serves it.
    const sizes: string[] = [];
    for (const p of pkgs) {
      const meta = JSON.parse(
        (await download(`${registry.url}/${p.name.replace('/', '%2f')}`)).toString(),
      ) as {
        versions: Record<string, { dist: { tarball: string } }>;
      };
      const tgz = await download(meta.versions[p.version]!.dist.tarball);
      sizes.push(`${p.name} ${(tgz.length / 1024).toFixed(0)} KiB`);
    }
    console.log(
      `registry: published ${published(first).join(', ')}; then only ${bumped.join(', ')} (${seconds(t0)} s); tarballs: ${sizes.join(', ')}`,
    );
  }, 300_000);

  for (const pm of ['npm', 'pnpm'] as const)
    it(`a stranger installs with ${pm} from the registry alone, compiles under strict TypeScript, runs on three backends and the CLI`, async () => {
      expect(registry, 'the publish step ran').toBeDefined();
      const t0 = performance.now();
      const dir = join(work, `consumer-${pm}`);
      cpSync(consumerTemplate, dir, { recursive: true });
      cpSync(
        join(root, 'packages', 'core', 'examples', 'custom-architecture.ts'),
        join(dir, 'src', 'custom-architecture.ts'),
      );
      const versions = new Map(workspacePackages(copy).map((p) => [p.name, p.version]));
      const dep = (name: string) => `^${versions.get(name)}`;
      writeFileSync(
        join(dir, 'package.json'),
        JSON.stringify(
          {
            name: `consumer-${pm}`,
            private: true,
            type: 'module',
            dependencies: {
              '@cardinal/core': dep('@cardinal/core'),
              '@cardinal/backend-onnx': dep('@cardinal/backend-onnx'),
              '@cardinal/backend-tfjs': dep('@cardinal/backend-tfjs'),
              '@cardinal/backend-webgpu': dep('@cardinal/backend-webgpu'),
              '@cardinal/pretrained': dep('@cardinal/pretrained'),
              '@cardinal/serve': dep('@cardinal/serve'),
              '@cardinal/cli': dep('@cardinal/cli'),
              'onnxruntime-node': '^1.30.0',
              '@tensorflow/tfjs': '^4.22.0',
              '@tensorflow/tfjs-backend-wasm': '^4.22.0',
              webgpu: '^0.6.2',
            },
            // The pinned TypeScript, and the one `npm install typescript` gives a stranger today.
            devDependencies: {
              typescript: '^5.9.3',
              'typescript-latest': 'npm:typescript@latest',
              '@types/node': '^20.19.0',
              vite: '^8.3.8',
            },
          },
          null,
          2,
        ),
      );
      // The registry, and nothing else: no overrides, no links, no workspace.
      writeFileSync(join(dir, '.npmrc'), `registry=${registry!.url}/\n`);
      if (pm === 'npm')
        sh('npm', ['install', '--no-audit', '--no-fund', '--loglevel=error'], dir, installEnv);
      else sh('pnpm', ['install', '--reporter=silent'], dir, installEnv);
      // Real copies of what was just published: the registry serves @cardinal/* from its own
      // storage only (no proxy for our scope), and these versions exist nowhere else.
      const core = JSON.parse(
        readFileSync(join(dir, 'node_modules', '@cardinal', 'core', 'package.json'), 'utf8'),
      );
      expect(core.version).toBe(versions.get('@cardinal/core'));
      expect(realpathSync(join(dir, 'node_modules', '@cardinal', 'core')).startsWith(dir)).toBe(true);
      const installed = seconds(t0);

      // Strict, skipLibCheck false, no `types` setting: the packages' own declarations must say
      // which types they need (Node's), and bring nothing that collides with lib.dom (WebGPU's).
      // Both packages name a `tsc` bin, so each is run by its own path.
      const [pinned, latest] = ['typescript', 'typescript-latest'].map((p) =>
        join(dir, 'node_modules', p, 'bin', 'tsc'),
      ) as [string, string];
      for (const tsc of [pinned, latest]) {
        sh(process.execPath, [tsc, '-p', 'tsconfig.json', '--noEmit'], dir);
        sh(process.execPath, [tsc, '-p', 'tsconfig.web.json'], dir);
      }
      const latestVersion = sh(process.execPath, [latest, '--version'], dir, {}, true)
        .trim()
        .replace(/^Version /, '');
      sh(process.execPath, [pinned, '-p', 'tsconfig.json'], dir);
      const results = JSON.parse(
        sh(process.execPath, ['dist/main.js'], dir, {}, true).trim().split('\n').at(-1)!,
      ) as Record<string, { logits: number[] }>;
      const ref = results.reference!.logits;
      const scale = Math.max(...ref.map(Math.abs));
      expect(scale).toBeGreaterThan(0.01);
      // WebGPU where this machine has an adapter (Dawn over Mesa here and in CI).
      const gpu = (await webgpuBackend.isAvailable()).available;
      for (const name of ['onnx', 'tfjs', ...(gpu ? ['webgpu'] : [])]) {
        expect(results[name], `${name} ran`).toBeDefined();
        const worst = Math.max(...results[name]!.logits.map((v, i) => Math.abs(v - ref[i]!)));
        expect(worst, name).toBeLessThan(1e-4 * (1 + scale));
      }
      const cli = JSON.parse(
        sh(
          join(dir, 'node_modules', '.bin', 'cardinal'),
          ['summary', 'resnext50_32x4d', '--json'],
          dir,
          {},
          true,
        ),
      ) as { params: number };
      expect(cli.params).toBe(25_028_904);
      writeFileSync(join(work, `logits-${pm}.json`), JSON.stringify(results));
      console.log(
        `${pm}: installed in ${installed} s; tsc strict (skipLibCheck false) clean with TypeScript 5.9 and ${latestVersion}; ran on ${Object.keys(results).join(', ')}; cardinal summary ok (${seconds(t0)} s)`,
      );
    }, 600_000);

  const noBrowser = chromiumUnavailableReason();
  if (noBrowser) console.log(`browser bundle check skipped: ${noBrowser}`);
  it.skipIf(!!noBrowser)(
    'a Vite bundle of core + backend-webgpu runs in Chromium and gives the ONNX backend’s logits; its size',
    async () => {
      const dir = join(work, 'consumer-npm');
      const logits = JSON.parse(readFileSync(join(work, 'logits-npm.json'), 'utf8')) as Record<
        string,
        { logits: number[] }
      >;
      const build = sh(join(dir, 'node_modules', '.bin', 'vite'), ['build'], dir);
      expect(build).not.toMatch(/externalized for browser compatibility/);
      const assets = join(dir, 'web-dist', 'assets');
      const chunks = readdirSync(assets).filter((f) => f.endsWith('.js'));
      for (const c of chunks)
        expect(readFileSync(join(assets, c), 'utf8'), c).not.toMatch(/["'`]node:[a-z_]+["'`]/);
      const html = readFileSync(join(dir, 'web-dist', 'index.html'), 'utf8');
      const entry = /src="\/assets\/([^"]+\.js)"/.exec(html)?.[1];
      expect(entry).toBeDefined();
      const gz = (f: string) => gzipSync(readFileSync(join(assets, f)), { level: 9 }).length;
      const entryKiB = gz(entry!) / 1024;
      const others = chunks.filter((c) => c !== entry).map((c) => `${c} ${(gz(c) / 1024).toFixed(1)} KiB`);

      const files = serveDirectory('/', join(dir, 'web-dist'));
      const server = createServer((req, res) => {
        if (req.url === '/' || req.url === '/index.html') {
          res.setHeader('Content-Type', 'text/html');
          res.end(html);
          return;
        }
        files(req, res, () => {
          res.statusCode = 404;
          res.end();
        });
      });
      await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
      const browser = await launchChromium();
      try {
        const page = await browser.newPage();
        await page.goto(`http://127.0.0.1:${(server.address() as { port: number }).port}/`);
        await page.waitForFunction(() => (window as { cardinalResult?: unknown }).cardinalResult, undefined, {
          timeout: 120_000,
        });
        const result = (await page.evaluate(
          () => (window as { cardinalResult?: unknown }).cardinalResult,
        )) as {
          logits?: number[];
          onnxBytes?: number;
          error?: string;
          describe?: string;
        };
        expect(result.error).toBeUndefined();
        const onnx = logits.onnx!.logits;
        const scale = Math.max(...onnx.map(Math.abs));
        const worst = Math.max(...result.logits!.map((v, i) => Math.abs(v - onnx[i]!)));
        expect(worst).toBeLessThan(1e-4 * (1 + scale));
        expect(result.onnxBytes).toBeGreaterThan(100_000);
        // The goal: core + backend-webgpu under 150 kB gzipped (the entry chunk; the ONNX export
        // is its own chunk, loaded when used).
        expect(entryKiB * 1024).toBeLessThan(150_000);
        console.log(
          `browser bundle: entry (core + backend-webgpu + app) ${entryKiB.toFixed(1)} KiB gzipped; other chunks: ${others.join(', ')}; Chromium (${result.describe}) logits within ${worst.toExponential(1)} of the ONNX backend's`,
        );
      } finally {
        await browser.close();
        server.close();
      }
    },
    300_000,
  );
});
