import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { readNpy, readTorchCheckpoint, writeNpy } from '@cardinal/core';
import { onnx } from 'onnx-proto';
import { beforeAll, describe, expect, it } from 'vitest';
import { DEBIAN_PYTHON, debianPythonHas } from './helpers.js';

/**
 * Inputs that cost far more than their size: checkpoint views that claim gigabytes over a few
 * bytes of storage, and graphs of 50,000 nodes in the shapes that make a pass quadratic (a long
 * chain, a long residual chain, a wide fan-out). Each is answered within the promised time
 * and memory, measured on the child process as the user would run it.
 */
const BIN = resolve(import.meta.dirname, '..', 'dist', 'bin.js');
const tmp = mkdtempSync(join(tmpdir(), 'cardinal-sizes-'));
const at = (name: string) => join(tmp, name);
const hasTorch = debianPythonHas(['torch'], 'the checkpoint view cases', 'python3-torch');

/** The CLI in a child under Python's wait, which reports the child's peak RSS (ru_maxrss). */
function measured(args: string[]) {
  const probe = [
    'import json, resource, subprocess, sys, time',
    't = time.time()',
    'r = subprocess.run(sys.argv[1:], capture_output=True, text=True)',
    'print(json.dumps({"code": r.returncode, "stdout": r.stdout, "stderr": r.stderr, "s": time.time() - t,',
    '  "rss_mib": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024}))',
  ].join('\n');
  const r = spawnSync(DEBIAN_PYTHON, ['-c', probe, process.execPath, BIN, ...args], {
    encoding: 'utf8',
    cwd: tmp,
    timeout: 120_000,
    maxBuffer: 1 << 28, // a summary of 50,000 nodes prints a row each
  });
  expect(r.status, r.stderr).toBe(0);
  return JSON.parse(r.stdout) as { code: number; stdout: string; stderr: string; s: number; rss_mib: number };
}

describe.skipIf(!hasTorch)('checkpoint views larger than their storage', () => {
  beforeAll(() => {
    const script = [
      'import sys, torch',
      'd = sys.argv[1]',
      'one = torch.ones(1)',
      "torch.save({'conv1.weight': one.expand(32768, 32768, 1, 1)}, d + '/amp.pth')",
      "torch.save({'conv1.weight': one.expand(32768, 32768, 1, 1), 'fc.weight': one.expand(32768, 32768),",
      "            'layer1.0.conv1.weight': one.expand(32768, 32768, 1, 1)}, d + '/amp3.pth')",
      // Legal views a reader must still decode: broadcast, overlapping, offset, transposed.
      's = torch.arange(80.0)',
      "views = {'broadcast': torch.arange(3.0).view(1, 3, 1, 1).expand(4, 3, 2, 2),",
      "         'overlap': s.as_strided((4, 3, 5, 5), (1, 2, 3, 1)),",
      "         'offset': s[7:].view(1, 73)[:, 5:69].reshape(4, 16),",
      "         'transposed': s.view(8, 10).t()}",
      "torch.save(views, d + '/views.pth')",
      "open(d + '/views.txt', 'w').write(repr({k: v.contiguous().flatten().tolist() for k, v in views.items()}))",
    ].join('\n');
    const r = spawnSync(DEBIAN_PYTHON, ['-c', script, tmp], { encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
  }, 60_000);

  it.each([
    ['amp.pth', ['conv1.weight (expected [64, 3, 7, 7], got [32768, 32768, 1, 1])']],
    [
      'amp3.pth',
      [
        'conv1.weight (expected [64, 3, 7, 7], got [32768, 32768, 1, 1])',
        'fc.weight (expected [1000, 512], got [32768, 32768])',
      ],
    ],
  ])('%s (4 GiB per view over one float) is refused in one line, in seconds, under 1 GiB', (file, named) => {
    const r = measured(['run', 'resnet18', '--weights', at(file), '--random-input']);
    expect(r.code, r.stderr).toBe(1);
    const lines = r.stderr.trim().split('\n');
    expect(lines, r.stderr).toHaveLength(1);
    expect(lines[0]).toContain(`${at(file)}: weights do not match the graph`);
    for (const n of named) expect(lines[0]).toContain(n);
    expect(r.s).toBeLessThan(20);
    expect(r.rss_mib).toBeLessThan(1024);
  });

  it('broadcast, overlapping, offset and transposed views decode to torch values', () => {
    const want = JSON.parse(readFileSync(at('views.txt'), 'utf8').replaceAll("'", '"')) as Record<
      string,
      number[]
    >;
    const got = readTorchCheckpoint(readFileSync(at('views.pth')), { source: 'views.pth' });
    for (const [k, values] of Object.entries(want)) {
      const t = got.tensors.get(k)!;
      expect([...t.data], k).toEqual(values);
    }
    expect(got.tensors.get('overlap')!.shape).toEqual([4, 3, 5, 5]);
  });
});

/** An ONNX file of `nodes` over one input and one output, float [1, 3, 8, 8]. */
function onnxGraph(file: string, nodes: [string, string[], string][], output: string): string {
  const info = (name: string) => ({
    name,
    type: {
      tensorType: {
        elemType: onnx.TensorProto.DataType.FLOAT,
        shape: { dim: [1, 3, 8, 8].map((d) => ({ dimValue: d })) },
      },
    },
  });
  const model = onnx.ModelProto.create({
    irVersion: 8,
    opsetImport: [{ domain: '', version: 17 }],
    graph: {
      name: file,
      node: nodes.map(([opType, input, out]) => ({ opType, input, output: [out] })),
      input: [info('t0')],
      output: [info(output)],
    },
  });
  writeFileSync(at(file), onnx.ModelProto.encode(model).finish());
  return at(file);
}

describe('graphs of 50,000 nodes', () => {
  const N = 50_000;
  const chain = () =>
    onnxGraph(
      'chain.onnx',
      Array.from({ length: N }, (_, i) => ['Relu', [`t${i}`], `t${i + 1}`]),
      `t${N}`,
    );
  const residual = () => {
    const nodes: [string, string[], string][] = [];
    for (let i = 0; i < N / 2; i++)
      nodes.push(['Relu', [`t${i}`], `r${i}`], ['Add', [`t${i}`, `r${i}`], `t${i + 1}`]);
    return onnxGraph('residual.onnx', nodes, `t${N / 2}`);
  };
  const fanOut = () => {
    const nodes: [string, string[], string][] = [];
    for (let i = 0; i < N / 2; i++) nodes.push(['Relu', ['t0'], `f${i}`]);
    for (let i = 1; i < N / 2; i++) nodes.push(['Add', [i === 1 ? 'f0' : `s${i - 1}`, `f${i}`], `s${i}`]);
    return onnxGraph('fanout.onnx', nodes, `s${N / 2 - 1}`);
  };

  // Before the import numbered repeated names per base, the chain took minutes (quadratic).
  it.each([
    ['a Relu chain', chain],
    ['a residual chain (Relu + Add)', residual],
    ['a fan-out of one tensor to 25,000 Relus summed', fanOut],
  ])('cardinal summary of %s answers in well under a minute', (_, make) => {
    const file = make();
    const r = measured(['summary', file]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain(`${file}: 0 parameters`);
    expect(r.s).toBeLessThan(30);
  });

  it('the reference executor runs the 50,000-node chain to relu(x) exactly', () => {
    const file = chain();
    const x = Float32Array.from({ length: 192 }, (_, i) => Math.sin(i * 1.7) * 3);
    writeFileSync(at('x.npy'), writeNpy({ shape: [1, 3, 8, 8], data: x }));
    const r = measured(['run', file, '--input', at('x.npy'), '--backend', 'reference', '--out', at('y.npy')]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.s).toBeLessThan(30);
    expect([...readNpy(readFileSync(at('y.npy'))).data]).toEqual([...x].map((v) => Math.max(v, 0)));
  });
});
