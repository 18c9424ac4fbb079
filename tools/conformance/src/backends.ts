import { type Backend, referenceBackend } from '@cardinal/core';

/** The backends a conformance run can target, loaded only when asked for. */
export const CONFORMANCE_BACKENDS = ['reference', 'onnx', 'tfjs', 'webgpu'] as const;
export type ConformanceBackend = (typeof CONFORMANCE_BACKENDS)[number];

/** The backend by name, or the reason it cannot run here. */
export async function loadConformanceBackend(
  name: ConformanceBackend,
): Promise<{ backend: Backend } | { reason: string }> {
  const backend =
    name === 'reference'
      ? referenceBackend
      : name === 'onnx'
        ? (await import('@cardinal/backend-onnx')).onnxBackend
        : name === 'tfjs'
          ? (await import('@cardinal/backend-tfjs')).tfjsBackend
          : (await import('@cardinal/backend-webgpu')).webgpuBackend;
  const a = await backend.isAvailable();
  return a.available ? { backend } : { reason: a.reason ?? 'not available' };
}
