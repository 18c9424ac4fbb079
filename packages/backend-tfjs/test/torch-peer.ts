// PyTorch (Debian's python3-torch) as the reference of the training tests: a script runner, the
// fixture's model in timm_replica with weight decay groups, and the comparison of weights.
import { spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Tensor } from '@cardinal/core';
import type { TrainerOptions } from '../src/index.js';

const PYTHON = '/usr/bin/python3';
export const torchOk = spawnSync(PYTHON, ['-c', 'import torch'], { stdio: 'ignore' }).status === 0;
const replica = join(import.meta.dirname, '..', '..', '..', 'tools', 'conformance', 'python');
export const tmp = mkdtempSync(join(tmpdir(), 'cardinal-torch-'));

/** Runs a script with torch, numpy and timm_replica at hand; its stdout. */
export function torch(script: string): string {
  const r = spawnSync(
    PYTHON,
    ['-c', `import sys, json, torch, numpy as np\nsys.path.insert(0, '${replica}')\n${script}`],
    { encoding: 'utf8', maxBuffer: 1 << 24 },
  );
  if (r.status !== 0) throw new Error(r.stderr);
  return r.stdout;
}

/**
 * One recipe on both sides: SGD with Nesterov momentum, weight decay skipping BatchNorm and
 * biases, one-cycle over 4 steps, label smoothing; `torch` defines `opt`, `sched` and `smoothing`
 * over torchModel's `groups` (made with weight decay 5e-4).
 */
export const NESTEROV_ONE_CYCLE: { options: TrainerOptions; torch: string } = {
  options: {
    optimizer: 'sgd',
    momentum: 0.9,
    nesterov: true,
    weightDecay: 5e-4,
    decay: 'weights',
    schedule: { kind: 'onecycle', base: 0.01, totalSteps: 4, warmupSteps: 1 },
    labelSmoothing: 0.1,
  },
  torch: `opt = torch.optim.SGD(groups, lr=0.01, momentum=0.9, nesterov=True)
sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=0.01, total_steps=4, pct_start=2/4, anneal_strategy='cos', cycle_momentum=False)
smoothing = 0.1`,
};

/** Python: `m`, the fixture's model in train mode, and `groups`, its parameters with weight decay `wd` on weights only. */
export function torchModel(metaPath: string, weightsPath: string, wd: number): string {
  return `
from timm_replica import read_safetensors, build
meta = json.load(open('${metaPath}'))
sd = read_safetensors('${weightsPath}')
m = build(meta, sd); m.load_state_dict(sd); m.train()
no_decay = set()
for name, mod in m.named_modules():
    if isinstance(mod, torch.nn.BatchNorm2d):
        no_decay |= {name + '.weight', name + '.bias'}
named = dict(m.named_parameters())
no_decay |= {k for k in named if k.endswith('.bias')}
groups = [{'params': [p for k, p in named.items() if k not in no_decay], 'weight_decay': ${wd}},
          {'params': [p for k, p in named.items() if k in no_decay], 'weight_decay': 0.0}]
`;
}

/** Python: writes m's float32 state_dict to `path` as safetensors. */
export function torchSaveState(path: string): string {
  return `
out = {k: v.detach().contiguous().numpy().astype(np.float32) for k, v in m.state_dict().items() if v.dtype == torch.float32}
blob = b''.join(v.tobytes() for v in out.values())
offs, hdr = 0, {}
for k, v in out.items():
    hdr[k] = {'dtype': 'F32', 'shape': list(v.shape), 'data_offsets': [offs, offs + v.nbytes]}; offs += v.nbytes
h = json.dumps(hdr).encode(); h += b' ' * (-len(h) % 8)
open('${path}', 'wb').write(len(h).to_bytes(8, 'little') + h + blob)
`;
}

/**
 * The tensors where ours strays from PyTorch's: every element within 2e-4 of the tensor's scale;
 * or, where Adam's normalisation turned float noise in a near-zero gradient into a full step of
 * either sign, the difference at most 2% of the update's size (L2).
 */
export function strayFromTorch(
  ours: ReadonlyMap<string, Tensor | { data: ArrayLike<number | bigint> }>,
  theirs: ReadonlyMap<string, { data: ArrayLike<number | bigint> }>,
  initial: ReadonlyMap<string, { data: ArrayLike<number | bigint> }>,
): string[] {
  const moved: string[] = [];
  for (const [key, t] of theirs) {
    const o = ours.get(key)!;
    const w0 = initial.get(key)!.data;
    const scale = Math.max(1e-3, ...Array.from(t.data, (v) => Math.abs(Number(v))));
    let [d, diff2, update2] = [0, 0, 0];
    for (let i = 0; i < t.data.length; i++) {
      const e = Number(o.data[i]) - Number(t.data[i]);
      d = Math.max(d, Math.abs(e));
      diff2 += e * e;
      update2 += (Number(t.data[i]) - Number(w0[i])) ** 2;
    }
    const rel = Math.sqrt(diff2 / Math.max(update2, 1e-30));
    if (d > 2e-4 * scale && rel > 0.02)
      moved.push(
        `${key}: max |diff| ${d.toExponential(2)} (scale ${scale.toFixed(3)}), ${(100 * rel).toFixed(1)}% of the update`,
      );
  }
  return moved;
}
