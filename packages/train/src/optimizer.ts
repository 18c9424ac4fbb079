import { InputError, type Tensor } from '@cardinal/core';

export type OptimizerName = 'sgd' | 'adam' | 'adamw';

export interface OptimizerSettings {
  name: OptimizerName;
  /** SGD momentum (no dampening); 0 is plain SGD. */
  momentum: number;
  nesterov: boolean;
  betas: [number, number];
  eps: number;
  /** SGD and Adam: an L2 term added to the gradient; AdamW: decoupled decay of the weights. */
  weightDecay: number;
  /** Parameters the weight decay skips (BatchNorm's and every bias, when asked). */
  noDecay: ReadonlySet<string>;
}

const f = Math.fround;

/**
 * PyTorch's torch.optim.SGD, Adam and AdamW, update for update, over plain float32 arrays (each
 * operation rounded to float32 as PyTorch's kernels round it). State by PyTorch's names:
 * `<key>.momentum_buffer`, `<key>.exp_avg`, `<key>.exp_avg_sq`, and the steps taken.
 */
export class TorchOptimizer {
  readonly state = new Map<string, Float32Array>();
  steps = 0;

  constructor(readonly settings: OptimizerSettings) {}

  private buffer(name: string, size: number): { buf: Float32Array; fresh: boolean } {
    const seen = this.state.get(name);
    if (seen) return { buf: seen, fresh: false };
    const buf = new Float32Array(size);
    this.state.set(name, buf);
    return { buf, fresh: true };
  }

  /** One step: every parameter with a gradient is updated in place, at `lr * factor(key)`. */
  step(
    params: ReadonlyMap<string, Float32Array>,
    grads: ReadonlyMap<string, Tensor>,
    baseLr: number,
    factor: (key: string) => number = () => 1,
  ): void {
    const s = this.settings;
    this.steps++;
    const t = this.steps;
    for (const [key, p] of params) {
      const grad = grads.get(key)?.data;
      if (!grad) continue;
      const lr = baseLr * factor(key);
      const wd = s.noDecay.has(key) ? 0 : s.weightDecay;
      if (s.name === 'sgd') {
        const mom = s.momentum;
        const { buf, fresh } = mom
          ? this.buffer(`${key}.momentum_buffer`, p.length)
          : { buf: undefined, fresh: false };
        for (let i = 0; i < p.length; i++) {
          let g = wd ? f(grad[i]! + f(p[i]! * wd)) : grad[i]!;
          if (buf) {
            const b = fresh ? g : f(f(buf[i]! * mom) + g);
            buf[i] = b;
            g = s.nesterov ? f(g + f(b * mom)) : b;
          }
          p[i] = f(p[i]! - f(g * lr));
        }
        continue;
      }
      const [b1, b2] = s.betas;
      const m = this.buffer(`${key}.exp_avg`, p.length).buf;
      const v = this.buffer(`${key}.exp_avg_sq`, p.length).buf;
      const bc1 = 1 - b1 ** t;
      const bc2Sqrt = Math.sqrt(1 - b2 ** t);
      const stepSize = lr / bc1;
      for (let i = 0; i < p.length; i++) {
        let w = p[i]!;
        let g = grad[i]!;
        if (s.name === 'adamw') w = wd ? f(w * f(1 - lr * wd)) : w;
        else if (wd) g = f(g + f(w * wd));
        m[i] = f(m[i]! + f(f(g - m[i]!) * (1 - b1)));
        v[i] = f(f(v[i]! * b2) + f(f(g * g) * (1 - b2)));
        const denom = f(f(Math.sqrt(v[i]!) / bc2Sqrt) + s.eps);
        p[i] = f(w - f(f(m[i]! / denom) * stepSize));
      }
    }
  }

  /** Restores saved state (a resumed run), checked against the parameters it belongs to. */
  restore(
    state: { tensors: ReadonlyMap<string, Tensor>; steps: number },
    params: ReadonlyMap<string, Float32Array>,
  ): void {
    this.state.clear();
    for (const [k, t] of state.tensors) {
      const key = k.replace(/\.(momentum_buffer|exp_avg|exp_avg_sq)$/, '');
      const p = params.get(key);
      if (!p || p.length !== t.data.length)
        throw new InputError(`optimiser state '${k}' does not belong to a parameter of this model`);
      this.state.set(k, Float32Array.from(t.data));
    }
    this.steps = state.steps;
  }
}
