#!/usr/bin/env node
// `pnpm demo`: Vite's dev server for the demo, in this very process (root scripts `exec` it),
// so a SIGTERM, SIGINT or SIGHUP sent to the command the user typed closes the server and
// nothing is left listening. Arguments pass on as Vite's server options: --port N, --host H.
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { createServer } from 'vite';

const { values } = parseArgs({
  options: { port: { type: 'string' }, host: { type: 'string' } },
  allowPositionals: false,
  args: process.argv.slice(2).filter((a) => a !== '--'),
});
const root = fileURLToPath(new URL('..', import.meta.url));
const server = await createServer({
  root,
  configFile: fileURLToPath(new URL('../vite.config.ts', import.meta.url)),
  server: {
    ...(values.port ? { port: Number(values.port), strictPort: true } : {}),
    ...(values.host ? { host: values.host } : {}),
  },
});
await server.listen();
server.printUrls();
let closing = false;
for (const signal of ['SIGTERM', 'SIGINT', 'SIGHUP'])
  process.on(signal, async () => {
    if (closing) return;
    closing = true;
    await server.close();
    process.exit(0);
  });
