import { createReadStream, existsSync, statSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createRequire } from 'node:module';
import { dirname, join, normalize } from 'node:path';
import { defaultClientConditions, defineConfig, type Plugin } from 'vite';

const require = createRequire(import.meta.url);

// Cross-origin isolation lets onnxruntime-web use wasm threads.
const isolation = {
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Embedder-Policy': 'require-corp',
};

/** onnxruntime-web's ES module and wasm files, served at /ort/ for the fallback backend. */
function ortAssets(): Plugin {
  const dist = dirname(require.resolve('onnxruntime-web'));
  const serve = (req: IncomingMessage, res: ServerResponse, next: () => void) => {
    const url = (req.url ?? '').split('?')[0]!;
    if (!url.startsWith('/ort/')) return next();
    const rel = normalize(url.slice(5));
    const file = join(dist, rel);
    if (rel.startsWith('..') || !existsSync(file) || !statSync(file).isFile()) return next();
    res.setHeader('Content-Type', file.endsWith('.wasm') ? 'application/wasm' : 'text/javascript');
    // onnxruntime-web starts its threads as module workers from these files; under COEP a
    // worker's script must carry the headers itself.
    for (const [k, v] of Object.entries(isolation)) res.setHeader(k, v);
    createReadStream(file).pipe(res);
  };
  return {
    name: 'ort-assets',
    configureServer: (s) => void s.middlewares.use(serve),
    configurePreviewServer: (s) => void s.middlewares.use(serve),
  };
}

/**
 * The Fashion-MNIST panel's files at /fashion/: fashion_resnext's shipped weights (from
 * @cardinal/pretrained) and the published test split (Debian's dataset-fashion-mnist, or the
 * folder CARDINAL_FASHION_MNIST names).
 */
function fashionAssets(): Plugin {
  const weightsDir = join(dirname(require.resolve('@cardinal/pretrained/package.json')), 'weights');
  const dataDir = process.env.CARDINAL_FASHION_MNIST ?? '/usr/share/datasets/fashion-mnist';
  const files: Record<string, string> = {
    '/fashion/weights.safetensors': join(weightsDir, 'fashion_resnext.safetensors'),
    '/fashion/t10k-images-idx3-ubyte.gz': join(dataDir, 't10k-images-idx3-ubyte.gz'),
    '/fashion/t10k-labels-idx1-ubyte.gz': join(dataDir, 't10k-labels-idx1-ubyte.gz'),
  };
  const serve = (req: IncomingMessage, res: ServerResponse, next: () => void) => {
    const file = files[(req.url ?? '').split('?')[0]!];
    if (!file) return next();
    if (!existsSync(file)) {
      res.statusCode = 404;
      res.end(`${file} is missing`);
      return;
    }
    res.setHeader('Content-Type', 'application/octet-stream');
    createReadStream(file).pipe(res);
  };
  return {
    name: 'fashion-assets',
    configureServer: (s) => void s.middlewares.use(serve),
    configurePreviewServer: (s) => void s.middlewares.use(serve),
  };
}

export default defineConfig({
  // Workspace packages from their TypeScript sources, then Vite's usual browser conditions.
  resolve: { conditions: ['source', ...defaultClientConditions] },
  server: { host: '127.0.0.1', port: 5173, strictPort: false, headers: isolation },
  preview: { host: '127.0.0.1', port: 4173, headers: isolation },
  // elkjs and onnx-proto ship CommonJS and are pre-bundled; the rest is ESM. No discovery at run
  // time, so the page never reloads itself while in use.
  optimizeDeps: {
    noDiscovery: true,
    include: ['elkjs/lib/elk.bundled.js', '@cardinal/backend-onnx > onnx-proto'],
  },
  plugins: [ortAssets(), fashionAssets()],
});
