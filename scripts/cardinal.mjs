#!/usr/bin/env node
// `pnpm cardinal ...` from the repo root: builds what is stale (turbo, cached), then runs the CLI.
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const turbo = join(root, 'node_modules', '.bin', 'turbo');
const build = spawnSync(
  turbo,
  ['run', 'build', '--filter=@cardinal/cli...', '--output-logs=errors-only', '--log-prefix=none'],
  {
    cwd: root,
    stdio: ['ignore', 'ignore', 'inherit'],
  },
);
if (build.status !== 0) {
  console.error('cardinal: error: the build failed; run `pnpm build` to see why');
  process.exit(1);
}
const run = spawnSync(
  process.execPath,
  [join(root, 'apps', 'cli', 'dist', 'bin.js'), ...process.argv.slice(2)],
  { stdio: 'inherit' },
);
process.exit(run.status ?? 1);
