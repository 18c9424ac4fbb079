import { type Backend, referenceBackend } from '@cardinal/core';
import { CliError, UsageError } from './errors.js';

/**
 * Backends the CLI knows, by name. Each non-reference backend is its own package, loaded
 * only when asked for, so the CLI runs with just the backends a user installed.
 */
const BACKEND_PACKAGES: Record<string, string | undefined> = {
  reference: undefined,
  onnx: '@cardinal/backend-onnx',
  tfjs: '@cardinal/backend-tfjs',
  webgpu: '@cardinal/backend-webgpu',
};

export const BACKEND_NAMES = Object.keys(BACKEND_PACKAGES);

export async function loadBackend(name: string): Promise<Backend> {
  if (!Object.hasOwn(BACKEND_PACKAGES, name)) {
    throw new UsageError(`unknown backend '${name}'; known backends: ${BACKEND_NAMES.join(', ')}`);
  }
  const pkg = BACKEND_PACKAGES[name];
  if (!pkg) return referenceBackend;
  let mod: { default?: Backend; backend?: Backend };
  try {
    mod = (await import(pkg)) as { default?: Backend; backend?: Backend };
  } catch {
    throw new CliError(`backend '${name}' is not installed (add the package ${pkg})`);
  }
  const backend = mod.backend ?? mod.default;
  if (!backend) throw new CliError(`${pkg} does not export a backend`);
  const availability = await backend.isAvailable();
  if (!availability.available)
    throw new CliError(
      `backend '${name}' is not available here: ${availability.reason ?? 'no reason given'}`,
    );
  return backend;
}
