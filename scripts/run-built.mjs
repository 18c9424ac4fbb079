#!/usr/bin/env node
// node scripts/run-built.mjs <package> <entry.js> [args...]: builds the package and what it
// depends on (turbo, cached, quiet), then runs its built entry point with the arguments.
// Root scripts use it: `pnpm cardinal ...`, `pnpm bench ...`, `pnpm start`.
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const [pkg, entry, ...args] = process.argv.slice(2);
const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const build = spawnSync(
  join(root, 'node_modules', '.bin', 'turbo'),
  ['run', 'build', `--filter=${pkg}...`, '--output-logs=errors-only', '--log-prefix=none'],
  {
    cwd: root,
    stdio: ['ignore', 'ignore', 'inherit'],
  },
);
if (build.status !== 0) {
  console.error(`${pkg}: the build failed; run \`pnpm build\` to see why`);
  process.exit(1);
}
const run = spawnSync(process.execPath, [join(root, entry), ...args], { stdio: 'inherit' });
process.exit(run.status ?? 1);
