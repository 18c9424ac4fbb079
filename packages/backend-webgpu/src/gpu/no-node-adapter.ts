// What `#node-adapter` is outside Node (package.json "imports"): a browser bundle must not pull
// in Dawn's loader and its node:fs probe; a browser finds its adapter on navigator.gpu.
import type { WebGpuPowerPreference } from './types.js';

export async function requestNodeAdapter(
  _powerPreference?: WebGpuPowerPreference,
): Promise<{ reasons: string[] }> {
  return { reasons: ['this build has no WebGPU for Node (the webgpu package); navigator.gpu is the way in'] };
}
