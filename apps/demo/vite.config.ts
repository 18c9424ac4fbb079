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
  plugins: [ortAssets()],
});
