import { existsSync, mkdtempSync, readdirSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { WebGpuAdapter, WebGpuPowerPreference } from './types.js';

/** What the Node path found: a GPU entry point and how it was made, or why there is none. */
export type DawnAttempt = { gpu: GPU; flags: string[]; featureLevel?: 'compatibility'; label: string };

interface DawnModule {
  create(flags: string[]): GPU;
  globals: Record<string, unknown>;
}

// Dawn instances live as long as the process: destroying one while another is in use aborts
// the process (seen with the Vulkan instance that found nothing, then the GL one).
const instances: GPU[] = [];

// A variable specifier keeps bundlers from pulling the native addon into browser builds.
const DAWN_PACKAGE = 'webgpu';

async function loadDawn(): Promise<DawnModule | string> {
  try {
    return (await import(/* @vite-ignore */ DAWN_PACKAGE)) as DawnModule;
  } catch (e) {
    return `the 'webgpu' package (Dawn for Node) is not installed or failed to load: ${(e as Error).message.split('\n')[0]}`;
  }
}

/**
 * Why the native (Vulkan) path cannot find a GPU on this Linux machine, or undefined to try it.
 * Vulkan's loader finds drivers through ICD manifests, and a hardware driver needs its device
 * node; without one only a software driver (lavapipe) answers, which Dawn refuses with native
 * warnings on stderr, so a machine with no GPU goes straight to the OpenGL path, quietly.
 */
function noNativeGpu(): string | undefined {
  if (process.platform !== 'linux') return undefined;
  if (process.env.VK_ICD_FILENAMES || process.env.VK_DRIVER_FILES) return undefined; // the user's choice
  const dirs = ['/usr/share/vulkan/icd.d', '/etc/vulkan/icd.d', '/usr/local/share/vulkan/icd.d'];
  if (!dirs.some((d) => existsSync(d) && readdirSync(d).some((f) => f.endsWith('.json'))))
    return 'no Vulkan driver is installed (no ICD manifest in /usr/share/vulkan/icd.d)';
  const dri = existsSync('/dev/dri') && readdirSync('/dev/dri').some((f) => f.startsWith('renderD'));
  if (!dri && !existsSync('/dev/nvidia0') && !existsSync('/dev/dxg'))
    return 'no GPU device node (/dev/dri/renderD*, /dev/nvidia0, /dev/dxg) for Vulkan';
  return undefined;
}

/**
 * Mesa's loaders print "XDG_RUNTIME_DIR is invalid or not set" on every start without one (a
 * service, a container): a private folder of this process's own keeps a good run's stderr clean.
 */
function ensureRuntimeDir(): void {
  const dir = process.env.XDG_RUNTIME_DIR;
  if (dir && existsSync(dir) && statSync(dir).isDirectory()) return;
  process.env.XDG_RUNTIME_DIR = mkdtempSync(join(tmpdir(), 'cardinal-xdg-'));
}

/**
 * Adapters to try in Node, best first: the native backend (Vulkan, Metal or D3D12), then
 * Dawn's OpenGL backend in compatibility mode over EGL without a display (Mesa's llvmpipe on
 * a machine with no GPU). Returns the adapter found and the reasons the others failed.
 */
export async function requestNodeAdapter(
  powerPreference: WebGpuPowerPreference | undefined,
): Promise<{ adapter: WebGpuAdapter; label: string } | { reasons: string[] }> {
  const dawn = await loadDawn();
  if (typeof dawn === 'string') return { reasons: [dawn] };
  // Dawn's objects (GPUBufferUsage, ...) are globals in a browser; make them so here.
  for (const [k, v] of Object.entries(dawn.globals))
    if (!(k in globalThis))
      Object.defineProperty(globalThis, k, { value: v, configurable: true, writable: true });
  const reasons: string[] = [];
  if (process.platform === 'linux') ensureRuntimeDir();
  const noNative = noNativeGpu();
  if (!noNative) {
    const gpu = dawn.create([]);
    instances.push(gpu);
    const adapter = await gpu.requestAdapter(powerPreference ? { powerPreference } : undefined);
    if (adapter) return { adapter, label: 'Dawn native' };
    reasons.push('Dawn found no native (Vulkan/Metal/D3D12) adapter');
  } else reasons.push(noNative);
  if (process.platform === 'linux') {
    // EGL picks its platform when first initialised; without a display, surfaceless works.
    if (!process.env.EGL_PLATFORM) process.env.EGL_PLATFORM = 'surfaceless';
    const gpu = dawn.create(['backend=opengl']);
    instances.push(gpu);
    const adapter = await gpu.requestAdapter({ featureLevel: 'compatibility' });
    if (adapter) return { adapter, label: 'Dawn OpenGL (compatibility)' };
    reasons.push(
      "Dawn's OpenGL backend found no adapter (it needs EGL and Mesa: apt-get install libegl-mesa0 libgl1-mesa-dri)",
    );
  }
  return { reasons };
}
