import type { OptimizerSettings } from '@cardinal/train';
import type * as TF from '@tensorflow/tfjs';
import type { Tf } from './runtime.js';

// The settings are @cardinal/train's (its TorchOptimizer is this one over float32 arrays).
export type { OptimizerSettings };

/**
 * @internal (tfjs's types stay out of the public declarations)
 * One optimiser over named variables, with PyTorch's update rules (torch.optim.SGD, Adam, AdamW)
 * to the letter, its state (momentum buffers, Adam's moments and step
 * count) held as tensors by parameter key so that it can be saved and restored.
 */
export class TorchOptimizer {
  /** `<key>.momentum_buffer`, `<key>.exp_avg`, `<key>.exp_avg_sq`: PyTorch's state names. */
  readonly state = new Map<string, TF.Tensor>();
  steps = 0;

  constructor(
    private readonly tf: Tf,
    readonly settings: OptimizerSettings,
  ) {}

  private keep(key: string, t: TF.Tensor): TF.Tensor {
    const old = this.state.get(key);
    this.state.set(key, this.tf.keep(t));
    old?.dispose();
    return t;
  }

  /** Applies one step with learning rate `lr` to every variable that has a gradient. */
  step(
    variables: ReadonlyMap<string, TF.Variable>,
    grads: ReadonlyMap<string, TF.Tensor>,
    baseLr: number,
    factor: (key: string) => number = () => 1,
  ): void {
    const tf = this.tf;
    const s = this.settings;
    this.steps++;
    const t = this.steps;
    for (const [key, v] of variables) {
      const grad = grads.get(key);
      if (!grad) continue;
      const lr = baseLr * factor(key);
      const wd = s.noDecay.has(key) ? 0 : s.weightDecay;
      tf.tidy(() => {
        if (s.name === 'sgd') {
          let g: TF.Tensor = wd ? tf.add(grad, tf.mul(v, wd)) : grad;
          if (s.momentum) {
            const prev = this.state.get(`${key}.momentum_buffer`);
            const buf = this.keep(
              `${key}.momentum_buffer`,
              prev ? tf.add(tf.mul(prev, s.momentum), g) : tf.clone(g),
            );
            g = s.nesterov ? tf.add(g, tf.mul(buf, s.momentum)) : buf;
          }
          v.assign(tf.sub(v, tf.mul(g, lr)));
          return;
        }
        const [b1, b2] = s.betas;
        let p: TF.Tensor = v;
        let g: TF.Tensor = grad;
        if (s.name === 'adamw') p = wd ? tf.mul(v, 1 - lr * wd) : v;
        else if (wd) g = tf.add(grad, tf.mul(v, wd));
        const m0 = this.state.get(`${key}.exp_avg`);
        const v0 = this.state.get(`${key}.exp_avg_sq`);
        const m = this.keep(
          `${key}.exp_avg`,
          tf.add(m0 ? tf.mul(m0, b1) : tf.zerosLike(g), tf.mul(g, 1 - b1)),
        );
        const sq = this.keep(
          `${key}.exp_avg_sq`,
          tf.add(v0 ? tf.mul(v0, b2) : tf.zerosLike(g), tf.mul(tf.square(g), 1 - b2)),
        );
        const bc1 = 1 - b1 ** t;
        const bc2 = 1 - b2 ** t;
        const denom = tf.add(tf.div(tf.sqrt(sq), Math.sqrt(bc2)), s.eps);
        v.assign(tf.sub(p, tf.mul(tf.div(m, denom), lr / bc1)));
      });
    }
  }

  dispose(): void {
    for (const t of this.state.values()) t.dispose();
    this.state.clear();
  }
}
