#!/usr/bin/env node
// `pnpm bench ...` from the repo root: builds the bench tool and what it uses (turbo, cached), then runs it.
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const turbo = join(root, 'node_modules', '.bin', 'turbo');
const build = spawnSync(
  turbo,
  ['run', 'build', '--filter=@cardinal/bench...', '--output-logs=errors-only', '--log-prefix=none'],
  {
    cwd: root,
    stdio: ['ignore', 'ignore', 'inherit'],
  },
);
if (build.status !== 0) {
  console.error('bench: the build failed; run `pnpm build` to see why');
  process.exit(1);
}
const run = spawnSync(
  process.execPath,
  [join(root, 'tools', 'bench', 'dist', 'cli.js'), ...process.argv.slice(2)],
  { stdio: 'inherit' },
);
process.exit(run.status ?? 1);
