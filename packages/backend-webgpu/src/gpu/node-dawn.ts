import { existsSync, readdirSync } from 'node:fs';

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

/** Vulkan's loader finds drivers through ICD manifests; with none, the native path cannot work. */
function vulkanDriversPresent(): boolean {
  if (process.platform !== 'linux') return true;
  const dirs = ['/usr/share/vulkan/icd.d', '/etc/vulkan/icd.d', '/usr/local/share/vulkan/icd.d'];
  if (process.env.VK_ICD_FILENAMES || process.env.VK_DRIVER_FILES) return true;
  return dirs.some((d) => existsSync(d) && readdirSync(d).some((f) => f.endsWith('.json')));
}

/**
 * Adapters to try in Node, best first: the native backend (Vulkan, Metal or D3D12), then
 * Dawn's OpenGL backend in compatibility mode over EGL without a display (Mesa's llvmpipe on
 * a machine with no GPU). Returns the adapter found and the reasons the others failed.
 */
export async function requestNodeAdapter(
  powerPreference: GPUPowerPreference | undefined,
): Promise<{ adapter: GPUAdapter; label: string } | { reasons: string[] }> {
  const dawn = await loadDawn();
  if (typeof dawn === 'string') return { reasons: [dawn] };
  // Dawn's objects (GPUBufferUsage, ...) are globals in a browser; make them so here.
  for (const [k, v] of Object.entries(dawn.globals))
    if (!(k in globalThis))
      Object.defineProperty(globalThis, k, { value: v, configurable: true, writable: true });
  const reasons: string[] = [];
  if (vulkanDriversPresent()) {
    const gpu = dawn.create([]);
    instances.push(gpu);
    const adapter = await gpu.requestAdapter(powerPreference ? { powerPreference } : undefined);
    if (adapter) return { adapter, label: 'Dawn native' };
    reasons.push('Dawn found no native (Vulkan/Metal/D3D12) adapter');
  } else reasons.push('no Vulkan driver is installed (no ICD manifest in /usr/share/vulkan/icd.d)');
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
