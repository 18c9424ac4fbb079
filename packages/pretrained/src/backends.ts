import { type Backend, BackendUnavailableError, referenceBackend, UsageError } from '@cardinal/core';

/**
 * The one table of backends by name, for the CLI, the server, the benchmarks and the tools.
 * Each backend but the reference is its own package (an optional peer of this one), loaded
 * only when asked for, so a program runs with just the backends its user installed.
 */
export const BACKEND_NAMES = ['reference', 'onnx', 'tfjs', 'webgpu'] as const;
export type BackendName = (typeof BACKEND_NAMES)[number];

/** The package that holds each backend (the reference executor is core's). */
export const BACKEND_PACKAGES: Readonly<Record<BackendName, string>> = {
  reference: '@cardinal/core',
  onnx: '@cardinal/backend-onnx',
  tfjs: '@cardinal/backend-tfjs',
  webgpu: '@cardinal/backend-webgpu',
};

const LOADERS: Readonly<Record<BackendName, () => Promise<Backend>>> = {
  reference: async () => referenceBackend,
  onnx: async () => (await import('@cardinal/backend-onnx')).onnxBackend,
  tfjs: async () => (await import('@cardinal/backend-tfjs')).tfjsBackend,
  webgpu: async () => (await import('@cardinal/backend-webgpu')).webgpuBackend,
};

export function isBackendName(name: string): name is BackendName {
  return (BACKEND_NAMES as readonly string[]).includes(name);
}

/**
 * The backend by name, or the reason it cannot run here: a UsageError for a name not in the
 * table, `reason` for a package not installed or a runtime that does not start here.
 */
export async function findBackend(name: string): Promise<{ backend: Backend } | { reason: string }> {
  if (!isBackendName(name))
    throw new UsageError(`unknown backend '${name}'; known backends: ${BACKEND_NAMES.join(', ')}`);
  let backend: Backend;
  try {
    backend = await LOADERS[name]();
  } catch {
    return { reason: `backend '${name}' is not installed (add the package ${BACKEND_PACKAGES[name]})` };
  }
  const availability = await backend.isAvailable();
  if (!availability.available)
    return {
      reason: `backend '${name}' is not available here: ${availability.reason ?? 'no reason given'}`,
    };
  return { backend };
}

/** The backend by name, ready to compile on; a BackendUnavailableError says why not. */
export async function loadBackend(name: string): Promise<Backend> {
  const found = await findBackend(name);
  if ('reason' in found) throw new BackendUnavailableError(found.reason);
  return found.backend;
}
