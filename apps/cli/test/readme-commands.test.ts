/**
 * Every command the root README shows, run in a sandbox folder laid out like the checkout
 * (`packages/` and `../shared` where the README expects them), through bash exactly as written
 * or with a stated change that makes it small (fewer epochs, a smaller input). Each command must
 * have an entry here and each entry a command in the README, so a README edit cannot drift from
 * what runs. The commands that cannot run here (the network, the suite itself, the registry
 * sequence that tools/release runs) are printed with the reason.
 */
import { spawn, spawnSync } from 'node:child_process';
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { readNpy } from '@cardinal/core';
import { fixturesDir } from '@cardinal/testkit';
import { afterAll, describe, expect, it } from 'vitest';
import { DEBIAN_PYTHON } from './helpers.js';

const REPO = resolve(import.meta.dirname, '..', '..', '..');
const README = readFileSync(join(REPO, 'README.md'), 'utf8');

interface ReadmeCommand {
  /** The command as the README shows it, continuation lines joined, the trailing comment cut. */
  text: string;
  /** For a transcript block (`$ cmd` then its output), the lines it shows, `...` standing for any text. */
  expected?: string[];
}

/** The README's commands: the lines of its `sh` blocks and the `$ ` lines of its transcripts. */
function readmeCommands(markdown: string): ReadmeCommand[] {
  const commands: ReadmeCommand[] = [];
  for (const block of markdown.matchAll(/^```(\w*)\n([\s\S]*?)^```$/gm)) {
    const lines = (block[2] ?? '').replace(/\\\n\s*/g, '').split('\n');
    if (block[1] === 'sh') {
      for (const line of lines) {
        const text = line.replace(/(^|\s)#.*$/, '').trim();
        if (text) commands.push({ text });
      }
    } else {
      for (const line of lines) {
        if (line.startsWith('$ ')) commands.push({ text: line.slice(2).trim(), expected: [] });
        else if (line.trim()) commands.at(-1)?.expected?.push(line);
      }
    }
  }
  return commands;
}

interface Ran {
  code: number | null;
  stdout: string;
  stderr: string;
}

type Entry =
  | { skip: string }
  | {
      /** The command run instead, when the README's is too large for a test, and why. */
      small?: { text: string; why: string };
      /** Runs in the background until `ready` prints, then `whileRunning`, then SIGTERM. */
      server?: { ready: RegExp; whileRunning: (out: string) => Promise<void> };
      timeoutMs?: number;
      check: (r: Ran) => void | Promise<void>;
    };

// The sandbox: work/ is the cwd, ../shared beside it, packages/ the checkout's.
const root = mkdtempSync(join(tmpdir(), 'cardinal-readme-'));
const work = join(root, 'work');
mkdirSync(join(root, 'bin'), { recursive: true });
mkdirSync(work);
symlinkSync(resolve(fixturesDir(), '..'), join(root, 'shared'));
symlinkSync(join(REPO, 'packages'), join(work, 'packages'));
// `pnpm cardinal`/`pnpm conformance` are the root package.json's scripts (run-built.mjs execs the
// built entry; pnpm-entry.test.ts runs them through pnpm itself); anything else goes to pnpm in
// the checkout.
const realPnpm = spawnSync('bash', ['-c', 'command -v pnpm'], { encoding: 'utf8' }).stdout.trim();
writeFileSync(
  join(root, 'bin', 'pnpm'),
  [
    '#!/bin/sh',
    'case "$1" in',
    `  cardinal) shift; exec node ${JSON.stringify(join(REPO, 'apps/cli/dist/bin.js'))} "$@";;`,
    `  conformance) shift; exec node ${JSON.stringify(join(REPO, 'tools/conformance/dist/cli.js'))} "$@";;`,
    `  *) exec ${JSON.stringify(realPnpm || 'pnpm')} -C ${JSON.stringify(REPO)} "$@";;`,
    'esac',
    '',
  ].join('\n'),
  { mode: 0o755 },
);
afterAll(() => spawnSync('rm', ['-rf', root]));
/** The commands' environment: the sandbox's `pnpm` first, no debug stack traces. */
const sandboxEnv = {
  ...process.env,
  PATH: `${join(root, 'bin')}:${process.env.PATH ?? ''}`,
  CARDINAL_DEBUG: '',
};

const python = (code: string, ...args: string[]) =>
  spawnSync(DEBIAN_PYTHON, ['-c', code, ...args], { encoding: 'utf8', cwd: work, maxBuffer: 1 << 24 });
const hasPython = (modules: string) => python(`import ${modules}`).status === 0;
const TORCH = hasPython('torch, torchvision');
const PIL = hasPython('PIL, skimage');
const at = (...p: string[]) => join(work, ...p);

/** The files the README's commands name that a checkout does not hold, made as a user would. */
function setUp(): void {
  copyFileSync(join(fixturesDir(), 'tiny_resnet_basic', 'weights.safetensors'), at('tiny.safetensors'));
  if (PIL) {
    mkdirSync(at('photos'));
    const r = python(
      [
        'import sys, skimage.data as d',
        'from PIL import Image',
        "Image.fromarray(d.chelsea()).save('photo.jpg', quality=95)",
        "Image.fromarray(d.chelsea()).save('photos/chelsea.jpg', quality=95)",
        "Image.fromarray(d.coffee()).save('photos/coffee.jpg', quality=95)",
      ].join('\n'),
    );
    if (r.status !== 0) throw new Error(r.stderr);
  }
  if (TORCH) {
    // torchvision's architecture with its own initialisation, saved under the file name of its
    // pretrained weights; and resnet18 through torch.onnx.export as the README says.
    const r = python(
      [
        'import torch, torchvision',
        'torch.manual_seed(0)',
        "torch.save(torchvision.models.resnext50_32x4d().state_dict(), 'resnext50_32x4d-7cdf4587.pth')",
        'm = torchvision.models.resnet18().eval()',
        "torch.onnx.export(m, torch.randn(1, 3, 224, 224), 'resnet18.onnx')",
      ].join('\n'),
    );
    if (r.status !== 0) throw new Error(r.stderr);
  }
}

function run(text: string, timeoutMs: number): Ran {
  const r = spawnSync('bash', ['-c', text], {
    cwd: work,
    encoding: 'utf8',
    timeout: timeoutMs,
    maxBuffer: 1 << 26,
    env: sandboxEnv,
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

async function runServer(
  text: string,
  server: { ready: RegExp; whileRunning: (out: string) => Promise<void> },
): Promise<Ran> {
  const child = spawn('bash', ['-c', `exec ${text}`], {
    cwd: work,
    env: sandboxEnv,
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => {
    stdout += d;
  });
  child.stderr.on('data', (d) => {
    stderr += d;
  });
  const exited = new Promise<number | null>((done) => child.on('exit', (code) => done(code)));
  const deadline = Date.now() + 60_000;
  while (!server.ready.test(stdout) && child.exitCode === null && Date.now() < deadline)
    await new Promise((r) => setTimeout(r, 100));
  try {
    expect(stdout, stderr).toMatch(server.ready);
    await server.whileRunning(stdout);
  } finally {
    child.kill('SIGTERM');
  }
  return { code: await exited, stdout, stderr };
}

const json = (r: Ran) => JSON.parse(r.stdout.trim().split('\n').at(-1) ?? '');
const ok = (r: Ran) => expect(r.code, `${r.stdout}\n${r.stderr}`).toBe(0);
const NETWORK =
  'needs the network (Hugging Face Hub / download.pytorch.org), which this machine cannot reach';

const ENTRIES: Record<string, Entry> = {
  // Quick start and installing.
  'npx -y pnpm@9.15.9 install --reporter=default && npx -y pnpm@9.15.9 start': {
    skip: 'the quick start on a fresh clone: tools/release/quick-start.sh runs it with the corepack shim on PATH',
  },
  'npx -y pnpm@9.15.9 install --reporter=default && npx -y pnpm@9.15.9 test': {
    skip: 'the whole suite, which runs this test: tools/release/quick-start.sh runs it on a fresh clone',
  },
  'ONNXRUNTIME_NODE_INSTALL=skip npm install @cardinal/core @cardinal/backend-onnx onnxruntime-node': {
    skip: 'installs from the registry: tools/release/test/registry.test.ts installs the packed packages so',
  },
  'npm install @cardinal/backend-tfjs @tensorflow/tfjs @tensorflow/tfjs-backend-wasm': {
    skip: 'installs from the registry: tools/release/test/registry.test.ts installs the packed packages so',
  },
  'npm install @cardinal/backend-webgpu webgpu': {
    skip: 'installs from the registry: tools/release/test/registry.test.ts installs the packed packages so',
  },
  'ONNXRUNTIME_NODE_INSTALL=skip npm install -g @cardinal/cli': {
    skip: 'a global install from the registry: tools/release/test/registry.test.ts installs the packed CLI',
  },

  // The command line.
  'pnpm cardinal models': {
    check: (r) => {
      ok(r);
      expect(r.stdout).toMatch(/^fashion_resnext .*209,034 .*93\.15%/m);
      expect(r.stdout).toMatch(/^resnext50_32x4d .*25,028,904/m);
    },
  },
  'pnpm cardinal summary resnest50d --json': {
    check: (r) => {
      ok(r);
      const s = json(r);
      expect(s.model).toBe('resnest50d');
      expect(s.params).toBe(27_483_240); // timm's resnest50d
      expect(s.input_shape).toEqual([1, 3, 224, 224]);
    },
  },
  'pnpm cardinal summary ../shared/fixtures/tiny_resnest/meta.json': {
    check: (r) => {
      ok(r);
      // The parameter count PyTorch gave the fixture.
      const meta = JSON.parse(readFileSync(join(fixturesDir(), 'tiny_resnest', 'meta.json'), 'utf8'));
      expect(r.stdout).toContain(`tiny_resnest: ${meta.num_params.toLocaleString('en-US')} parameters`);
    },
  },
  'pnpm cardinal export resnext50_32x4d --format onnx --out r.onnx': {
    check: (r) => {
      ok(r);
      // 25.0 M float32 parameters, less the BatchNorms folded into the convolutions.
      const bytes = readFileSync(at('r.onnx')).length;
      expect(bytes).toBeGreaterThan(24_900_000 * 4);
      expect(bytes).toBeLessThan(25_100_000 * 4);
    },
  },
  'pnpm cardinal train ../shared/fixtures/tiny_resnext/meta.json --data synthetic --epochs 3 --out trained.safetensors':
    {
      small: {
        text: 'pnpm cardinal train ../shared/fixtures/tiny_resnext/meta.json --data synthetic --epochs 3 --train-size 256 --val-size 64 --out trained.safetensors',
        why: '256 synthetic images instead of the default set',
      },
      check: (r) => {
        ok(r);
        expect(`${r.stdout}${r.stderr}`.match(/^epoch \d+\/3: loss .* img\/s$/gm)).toHaveLength(3);
        expect(existsSync(at('trained.safetensors'))).toBe(true);
      },
    },
  'pnpm cardinal train packages/pretrained/weights/fashion_resnext.json --data fashion-mnist --epochs 1 --out fm.safetensors':
    {
      small: {
        text: 'pnpm cardinal train packages/pretrained/weights/fashion_resnext.json --data fashion-mnist --epochs 1 --train-size 512 --val-size 128 --out fm.safetensors',
        why: '512 of the 60,000 training images',
      },
      check: (r) => {
        ok(r);
        expect(`${r.stdout}${r.stderr}`).toMatch(/^epoch 1\/1: loss .* img\/s$/m);
      },
    },
  'pnpm cardinal eval fashion_resnext --data fashion-mnist --json': {
    timeoutMs: 120_000,
    check: (r) => {
      ok(r);
      const e = json(r);
      expect(e.n).toBe(10_000);
      expect(e.top1).toBeCloseTo(0.9315, 4); // the README's figure for the shipped weights
    },
  },
  'pnpm cardinal run ../shared/fixtures/tiny_resnext/meta.json --backend onnx --weights ../shared/fixtures/tiny_resnext/weights.safetensors --input ../shared/fixtures/tiny_resnext/input.npy --out out.npy':
    {
      check: (r) => {
        ok(r);
        const got = readNpy(readFileSync(at('out.npy')));
        const want = readNpy(readFileSync(join(fixturesDir(), 'tiny_resnext', 'output.npy')));
        expect(got.shape).toEqual(want.shape);
        let worst = 0;
        for (let i = 0; i < want.data.length; i++)
          worst = Math.max(worst, Math.abs((got.data[i] ?? 0) - (want.data[i] ?? 0)));
        expect(worst).toBeLessThan(1e-4);
      },
    },
  'pnpm cardinal run resnext50_32x4d --random-input --backend webgpu': {
    small: {
      text: 'pnpm cardinal run resnext50_32x4d --random-input --backend webgpu --input-size 64',
      why: '64x64 instead of 224x224 (llvmpipe)',
    },
    check: (r) => {
      if (/webgpu.*(not available|no adapter|not installed)/i.test(r.stderr)) {
        console.log(`skipped the webgpu run: ${r.stderr.trim()}`);
        return;
      }
      ok(r);
      expect(r.stdout).toMatch(/^resnext50_32x4d on webgpu .*output 1x1000/m);
    },
  },
  'pnpm cardinal run resnext50_32x4d --weights resnext50_32x4d-7cdf4587.pth --random-input': {
    small: {
      text: 'pnpm cardinal run resnext50_32x4d --weights resnext50_32x4d-7cdf4587.pth --random-input --input-size 64',
      why: 'torchvision-initialised weights under the pretrained file name (no network), 64x64',
    },
    check: (r) => {
      if (!TORCH) return console.log('skipped the .pth run: Debian python3-torch missing');
      ok(r);
      expect(r.stdout).toMatch(/output 1x1000/);
      expect(r.stdout).not.toMatch(/RANDOM WEIGHTS/);
    },
  },
  'mkdir -p out && pnpm cardinal preprocess photo.jpg --model resnext50_32x4d --out out/x.npy': {
    check: (r) => {
      if (!PIL) return console.log('skipped preprocess: Debian python3-pil/python3-skimage missing');
      ok(r);
      expect(readNpy(readFileSync(at('out', 'x.npy'))).shape).toEqual([1, 3, 224, 224]);
    },
  },
  'pnpm cardinal classify photos/ --model hf-hub:timm/resnext50_32x4d.fb_in1k --top 5': { skip: NETWORK },
  'pnpm cardinal classify photo.jpg --model resnext50_32x4d --weights https://download.pytorch.org/models/resnext50_32x4d-7cdf4587.pth --json':
    { skip: NETWORK },
  'pnpm cardinal export ../shared/fixtures/tiny_resnext/meta.json --format folder --out out/tiny --weights ../shared/fixtures/tiny_resnext/weights.safetensors':
    {
      check: (r) => {
        ok(r);
        expect(existsSync(at('out', 'tiny', 'config.json'))).toBe(true);
        expect(existsSync(at('out', 'tiny', 'model.safetensors'))).toBe(true);
      },
    },
  'pnpm cardinal serve resnext50_32x4d --port 8000': {
    small: { text: 'pnpm cardinal serve resnext50_32x4d --port 0', why: 'any free port instead of 8000' },
    server: {
      ready: /^serving resnext50_32x4d at (http:\/\/127\.0\.0\.1:\d+)/m,
      whileRunning: async (out) => {
        const url = /^serving resnext50_32x4d at (\S+)/m.exec(out)?.[1];
        const res = await fetch(`${url}/v2/models/resnext50_32x4d`);
        expect(res.status).toBe(200);
        expect((await res.json()).name).toBe('resnext50_32x4d');
      },
    },
    check: (r) => {
      ok(r);
      expect(r.stderr).toMatch(/SIGTERM/);
    },
  },
  'pnpm cardinal export resnext50_32x4d --format triton --out out/model_repository': {
    check: (r) => {
      ok(r);
      expect(existsSync(at('out', 'model_repository', 'resnext50_32x4d', 'config.pbtxt'))).toBe(true);
    },
  },
  'pnpm cardinal run resnet18.onnx --backend webgpu --random-input': {
    check: (r) => {
      if (!TORCH) return console.log('skipped the resnet18.onnx run: Debian python3-torch missing');
      if (/webgpu.*(not available|no adapter|not installed)/i.test(r.stderr))
        return console.log(`skipped the webgpu run: ${r.stderr.trim()}`);
      ok(r);
      expect(r.stdout).toMatch(/output 1x1000/);
    },
  },
  'pnpm cardinal export resnet18.onnx --format graph --out resnet18.json': {
    check: (r) => {
      if (!TORCH) return console.log('skipped: Debian python3-torch missing');
      ok(r);
      const doc = JSON.parse(readFileSync(at('resnet18.json'), 'utf8'));
      expect(doc.format).toBe('cardinal.graph');
      expect(doc.graph.nodes).toHaveLength(49); // torchvision's resnet18 as torch.onnx.export writes it, BatchNorms folded
    },
  },
  'pnpm cardinal run resnet18.json --weights resnet18.onnx --random-input': {
    check: (r) => {
      if (!TORCH) return console.log('skipped: Debian python3-torch missing');
      ok(r);
      expect(r.stdout).toMatch(/output 1x1000/);
      expect(r.stdout).not.toMatch(/RANDOM WEIGHTS/);
    },
  },
  'pnpm conformance --suite onnx --backend tfjs': {
    check: (r) => {
      ok(r);
      const m = /onnx suite on tfjs: (\d+) passed, (\d+) failed/.exec(`${r.stdout}${r.stderr}`);
      expect(Number(m?.[1])).toBeGreaterThan(100);
      expect(Number(m?.[2])).toBe(0);
    },
  },

  // Training: the shipped model's recipe, one small epoch of it.
  'pnpm cardinal train packages/pretrained/weights/fashion_resnext.json --data fashion-mnist --epochs 35 --batch-size 64 --optimizer sgd --nesterov --lr 0.1 --schedule onecycle --warmup-epochs 2 --weight-decay 5e-4 --decay weights --label-smoothing 0.1 --seed 0 --workers 2 --out fm.safetensors':
    {
      small: {
        text: 'pnpm cardinal train packages/pretrained/weights/fashion_resnext.json --data fashion-mnist --epochs 1 --batch-size 64 --optimizer sgd --nesterov --lr 0.1 --schedule onecycle --warmup-epochs 2 --weight-decay 5e-4 --decay weights --label-smoothing 0.1 --seed 0 --workers 2 --train-size 512 --val-size 128 --out fm-recipe.safetensors',
        why: 'one epoch of 512 images, and a new --out (the earlier command wrote fm.safetensors)',
      },
      check: (r) => {
        ok(r);
        expect(`${r.stdout}${r.stderr}`).toMatch(/^epoch 1\/1: loss .* img\/s$/m);
      },
    },
  'pnpm cardinal eval fashion_resnext --data fashion-mnist --svg confusion.svg': {
    timeoutMs: 120_000,
    check: (r) => {
      ok(r);
      expect(r.stdout).toMatch(/93\.15%/);
      expect(readFileSync(at('confusion.svg'), 'utf8')).toMatch(/^<svg/);
    },
  },

  // The error transcripts: their output is checked against the README's lines.
  'cardinal run resnet18 --random-input --weights tiny.safetensors': {
    small: {
      text: 'pnpm cardinal run resnet18 --random-input --weights tiny.safetensors',
      why: "through the pnpm script; tiny.safetensors is tiny_resnet_basic's fixture",
    },
    check: (r) => expect(r.code).toBe(1),
  },
  'cardinal run resnet18 --random-input --input-size 100000': {
    small: {
      text: 'pnpm cardinal run resnet18 --random-input --input-size 100000',
      why: 'through the pnpm script',
    },
    check: (r) => expect(r.code).toBe(1),
  },

  // Development and releasing.
  'pnpm build': { check: ok },
  'pnpm test': { skip: 'the suite that runs this test' },
  'pnpm lint': { skip: '.ci/run runs it before the tests' },
  'pnpm changeset': { skip: 'interactive; tools/release/test/changesets.test.ts versions with changesets' },
  'pnpm install && pnpm build && pnpm test': {
    skip: 'the release sequence: tools/release/test/registry.test.ts runs it on a copy against a local registry',
  },
  'pnpm changeset version': { skip: 'tools/release/test/registry.test.ts runs it on a copy' },
  'pnpm publish -r --access public': {
    skip: 'publishes: tools/release/test/registry.test.ts runs it against a local Verdaccio',
  },
};

const commands = readmeCommands(README);

describe('the README, command by command', () => {
  it('every command of the README has an entry here, and every entry is in the README', () => {
    const shown = commands.map((c) => c.text);
    expect(shown.filter((t) => !(t in ENTRIES))).toEqual([]);
    expect(Object.keys(ENTRIES).filter((t) => !shown.includes(t))).toEqual([]);
  });

  it('the commands run as written (or as said, smaller) and do what the README says', {
    timeout: 900_000,
  }, async () => {
    setUp();
    for (const command of commands) {
      const entry = ENTRIES[command.text];
      if (!entry) continue;
      if ('skip' in entry) {
        console.log(`README: not run here: ${command.text}: ${entry.skip}`);
        continue;
      }
      const text = entry.small?.text ?? command.text;
      if (entry.small) console.log(`README: ${command.text}\n  run as: ${text} (${entry.small.why})`);
      const r = entry.server ? await runServer(text, entry.server) : run(text, entry.timeoutMs ?? 90_000);
      for (const line of command.expected ?? []) {
        const pattern = line
          .replace(/^\$ /, '')
          .split('...')
          .map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))
          .join('.*');
        expect(r.stderr, `the README's output of \`${command.text}\``).toMatch(
          new RegExp(`^${pattern}`, 'm'),
        );
      }
      try {
        await entry.check(r);
      } catch (e) {
        throw new Error(`README command failed: ${text}\n${String(e)}\n${r.stderr.slice(-2000)}`);
      }
    }
  });
});
