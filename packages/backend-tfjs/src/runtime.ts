import { BackendUnavailableError, type DevicePreference, type RunDevice } from '@cardinal/core';
import type * as TF from '@tensorflow/tfjs';

/** @internal The tfjs module; its types stay out of the public declarations. */
export type Tf = typeof TF;
/** Which TensorFlow.js runtime runs: native (CUDA or CPU) through tfjs-node(-gpu), else wasm, else pure JS. */
export type TfjsRuntimeName = 'node-gpu' | 'node' | 'wasm' | 'cpu';
export const RUNTIME_ORDER: readonly TfjsRuntimeName[] = ['node-gpu', 'node', 'wasm', 'cpu'];

/**
 * Training takes the same order. tfjs-backend-wasm lacks the convolution gradient kernels
 * (Conv2DBackpropFilter, the depthwise backprops) and its transposed convolution is slow: the
 * training lowering supplies those gradients as forward convolutions (lower/conv.ts), so wasm
 * trains, and the pure-JS cpu backend is only the last resort.
 */
export const TRAINING_ORDER: readonly TfjsRuntimeName[] = RUNTIME_ORDER;

export interface TfjsRuntime {
  /** @internal */
  tf: Tf;
  runtime: TfjsRuntimeName;
  /** The tfjs backend name (`tensorflow`, `wasm`, `cpu`). */
  backend: string;
  /** Runtimes tried before this one, each with why it was skipped. */
  skipped: string[];
}

const PACKAGES: Record<TfjsRuntimeName, string> = {
  'node-gpu': '@tensorflow/tfjs-node-gpu',
  node: '@tensorflow/tfjs-node',
  wasm: '@tensorflow/tfjs-backend-wasm',
  cpu: '@tensorflow/tfjs',
};

function firstLine(e: unknown): string {
  const err = e as { code?: string; message?: string };
  if (err?.code === 'ERR_MODULE_NOT_FOUND' || err?.code === 'MODULE_NOT_FOUND') return 'not installed';
  // Bundlers (Vite, vitest) word a missing package their own way.
  if (/Cannot find (module|package)|Could not resolve|Failed to resolve/.test(err?.message ?? ''))
    return 'not installed';
  return (err?.message ?? String(e)).split('\n')[0]!.slice(0, 160);
}

async function tryRuntime(name: TfjsRuntimeName): Promise<{ tf: Tf; backend: string }> {
  if (name === 'node-gpu' || name === 'node') {
    // The native bindings register the 'tensorflow' backend when imported.
    const tf = (await import(PACKAGES[name])) as Tf;
    await tf.setBackend('tensorflow');
    await tf.ready();
    return { tf, backend: 'tensorflow' };
  }
  const tf = (await import('@tensorflow/tfjs')) as Tf;
  // Production mode: no debug checks, and no console banner urging tfjs-node; describeRuntime
  // already says which runtimes were skipped and why.
  tf.env().set('PROD', true);
  if (name === 'wasm') await import('@tensorflow/tfjs-backend-wasm');
  if (!(await tf.setBackend(name)))
    throw new BackendUnavailableError(`tfjs could not initialise the ${name} backend`);
  await tf.ready();
  return { tf, backend: name };
}

/**
 * Picks the first runtime that loads, in the order node-gpu, node, wasm, cpu, or the one
 * forced. A runtime that is not installed or fails to load is skipped, with the reason kept.
 */
export async function selectRuntime(
  force?: TfjsRuntimeName,
  order: readonly TfjsRuntimeName[] = RUNTIME_ORDER,
): Promise<TfjsRuntime> {
  const skipped: string[] = [];
  if (!force) {
    for (const name of RUNTIME_ORDER)
      if (!order.includes(name)) skipped.push(`${name}: not in the order asked for`);
  }
  for (const name of force ? [force] : order) {
    try {
      const { tf, backend } = await tryRuntime(name);
      return { tf, runtime: name, backend, skipped };
    } catch (e) {
      skipped.push(`${name} (${PACKAGES[name]}): ${firstLine(e)}`);
    }
  }
  throw new BackendUnavailableError(
    force
      ? `the TensorFlow.js runtime '${force}' is not available: ${skipped.join('; ')}`
      : `no TensorFlow.js runtime could be loaded: ${skipped.join('; ')}`,
  );
}

export function describeRuntime(r: TfjsRuntime): string {
  const fell = r.skipped.length ? `; skipped ${r.skipped.join(', ')}` : '';
  return `tfjs ${r.tf.version?.tfjs ?? r.tf.version_core} (${r.runtime} runtime, '${r.backend}' backend${fell})`;
}

/** The device a runtime computes on: CUDA for tfjs-node-gpu, the CPU for the others. */
export function runDeviceOf(r: TfjsRuntime): RunDevice {
  return r.runtime === 'node-gpu' ? { kind: 'gpu', name: 'CUDA' } : { kind: 'cpu', name: 'CPU' };
}

/** The runtime to load for a device preference: 'gpu' insists on tfjs-node-gpu, 'cpu' skips it. */
export function selectRuntimeFor(
  device: DevicePreference | undefined,
  force: TfjsRuntimeName | undefined,
  order: readonly TfjsRuntimeName[] = RUNTIME_ORDER,
): Promise<TfjsRuntime> {
  if (force || device === 'gpu') return selectRuntime(force ?? 'node-gpu', order);
  return selectRuntime(undefined, device === 'cpu' ? order.filter((n) => n !== 'node-gpu') : order);
}
