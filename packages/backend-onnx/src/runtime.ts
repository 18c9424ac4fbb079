import { existsSync, statSync, unlinkSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { BackendUnavailableError } from '@cardinal/core';
import type * as Ort from 'onnxruntime-node';

export type OrtModule = typeof Ort;
export type ExecutionProvider = 'cuda' | 'cpu';

let cached: { ort?: OrtModule; error?: string; binDir?: string } | undefined;

/**
 * onnxruntime 1.30's telemetry (Microsoft's 1DS SDK, linked into libonnxruntime.so) can leave an
 * empty `mat-debug-<pid>.log` and a `.ses` file in the temporary folder. ORT reads
 * ORT_DISABLE_TELEMETRY when it starts; we set it unless the user chose otherwise, and remove
 * an empty debug log of this process at exit in case a build ignores the variable.
 */
function quietTelemetry(): void {
  process.env.ORT_DISABLE_TELEMETRY ??= '1';
  const log = join(tmpdir(), `mat-debug-${process.pid}.log`);
  process.once('exit', () => {
    try {
      if (statSync(log).size === 0) unlinkSync(log);
    } catch {
      // No such file: nothing to clean.
    }
  });
}

/** Loads onnxruntime-node once; reports why in words when it cannot be loaded. */
export function loadOrt(): { ort?: OrtModule; error?: string; binDir?: string } {
  if (cached) return cached;
  quietTelemetry();
  try {
    const require = createRequire(import.meta.url);
    const main = require.resolve('onnxruntime-node');
    const binDir = join(dirname(main), '..', 'bin', 'napi-v6', process.platform, process.arch);
    cached = { ort: require('onnxruntime-node') as OrtModule, binDir };
  } catch (e) {
    cached = {
      error: `onnxruntime-node cannot be loaded (${(e as Error).message.split('\n')[0]}); install it with the package manager`,
    };
  }
  return cached;
}

const CUDA_LIBRARY: Partial<Record<NodeJS.Platform, string>> = {
  linux: 'libonnxruntime_providers_cuda.so',
  win32: 'onnxruntime_providers_cuda.dll',
};

/**
 * Why the CUDA EP cannot be used, or undefined when its binaries are installed. onnxruntime-node
 * lists 'cuda' on Linux and Windows x64 even when its install step skipped the CUDA binaries;
 * checking for them first avoids a failed provider load and its error log.
 */
export function cudaUnavailableReason(): string | undefined {
  const { binDir } = loadOrt();
  const lib = CUDA_LIBRARY[process.platform];
  if (!lib || process.arch !== 'x64') return `no CUDA EP for ${process.platform}/${process.arch}`;
  if (!binDir || !existsSync(join(binDir, lib))) {
    return 'CUDA EP binaries not installed (reinstall onnxruntime-node with ONNXRUNTIME_NODE_INSTALL=cuda12 on a machine with an NVIDIA GPU)';
  }
  return undefined;
}

export interface SessionChoice {
  session: Ort.InferenceSession;
  provider: ExecutionProvider;
  /** Why a preferred provider was skipped, when one was. */
  fallbackReason?: string;
}

export interface SessionOptions {
  /** Providers in order of preference; default ['cuda', 'cpu']. */
  executionProviders?: ExecutionProvider[];
  intraOpNumThreads?: number;
  interOpNumThreads?: number;
  graphOptimizationLevel?: 'disabled' | 'basic' | 'extended' | 'all';
  /**
   * Whether idle intra-op threads spin waiting for work (ONNX Runtime's default, true). Turn it
   * off when the process does other work between runs (decoding images while the model runs):
   * spinning threads take the cores that work needs.
   */
  allowSpinning?: boolean;
}

const SESSION_KEYS = [
  'executionProviders',
  'intraOpNumThreads',
  'interOpNumThreads',
  'graphOptimizationLevel',
  'allowSpinning',
] as const satisfies readonly (keyof SessionOptions)[];

/** Only the session's own options, those set: what crosses to a worker thread (a callback cannot). */
export function sessionOptionsOf(options: SessionOptions): SessionOptions {
  return Object.fromEntries(SESSION_KEYS.filter((k) => options[k] !== undefined).map((k) => [k, options[k]]));
}

/**
 * Creates a session on the first provider that works. CUDA is tried only where
 * onnxruntime-node lists it, and a session that fails to create on it falls back to the next
 * provider with the reason kept.
 */
export async function createSession(
  ort: OrtModule,
  model: Uint8Array,
  options: SessionOptions = {},
): Promise<SessionChoice> {
  const wanted = options.executionProviders ?? ['cuda', 'cpu'];
  const listed = new Set(ort.listSupportedBackends?.().map((b) => b.name) ?? ['cpu']);
  const reasons: string[] = [];
  for (const provider of wanted) {
    if (!listed.has(provider)) {
      reasons.push(`${provider}: not in this onnxruntime-node build`);
      continue;
    }
    const cudaReason = provider === 'cuda' ? cudaUnavailableReason() : undefined;
    if (cudaReason) {
      reasons.push(`cuda: ${cudaReason}`);
      continue;
    }
    try {
      // onnxruntime-node rejects keys that are present but undefined.
      const sessionOptions: Ort.InferenceSession.SessionOptions = {
        executionProviders: [provider],
        graphOptimizationLevel: options.graphOptimizationLevel ?? 'all',
      };
      if (options.intraOpNumThreads !== undefined)
        sessionOptions.intraOpNumThreads = options.intraOpNumThreads;
      if (options.interOpNumThreads !== undefined)
        sessionOptions.interOpNumThreads = options.interOpNumThreads;
      if (options.allowSpinning === false)
        sessionOptions.extra = {
          session: { intra_op: { allow_spinning: '0' }, inter_op: { allow_spinning: '0' } },
        };
      const session = await ort.InferenceSession.create(model, sessionOptions);
      return { session, provider, fallbackReason: reasons.length ? reasons.join('; ') : undefined };
    } catch (e) {
      reasons.push(`${provider}: ${(e as Error).message.split('\n')[0]}`);
    }
  }
  throw new BackendUnavailableError(`no execution provider could run the model (${reasons.join('; ')})`);
}
