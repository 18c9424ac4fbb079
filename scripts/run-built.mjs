#!/usr/bin/env node
// node scripts/run-built.mjs <package> <entry.js> [args...]: builds the package and what it
// depends on (turbo, cached, quiet), then runs its built entry point with the arguments.
// Root scripts use it (`exec`ed, so no shell stands between pnpm and it): `pnpm cardinal ...`,
// `pnpm bench ...`, `pnpm start`.
//
// Signals: the entry runs in this very process (imported, not spawned), so a SIGTERM or SIGINT
// sent to the command the user typed reaches the job itself and nothing is left running. While
// the build runs, a signal is passed on to turbo and this process exits with it, unbuilt.
import { spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const [pkg, entry, ...given] = process.argv.slice(2);
// `pnpm start -- --backend reference` appends a literal `--` (pnpm passes it on, npm does not):
// it only separates pnpm's arguments from the script's, so the first one is dropped.
const dash = given.indexOf('--');
const args = dash < 0 ? given : [...given.slice(0, dash), ...given.slice(dash + 1)];
const root = join(dirname(fileURLToPath(import.meta.url)), '..');

const SIGNALS = ['SIGTERM', 'SIGINT', 'SIGHUP'];

function build() {
  return new Promise((resolve) => {
    const child = spawn(
      join(root, 'node_modules', '.bin', 'turbo'),
      ['run', 'build', `--filter=${pkg}...`, '--output-logs=errors-only', '--log-prefix=none'],
      {
        cwd: root,
        stdio: ['ignore', 'ignore', 'inherit'],
        env: { ...process.env, TURBO_TELEMETRY_DISABLED: '1' },
      },
    );
    // A cached build returns at once; a first one takes about a minute: say so, on stderr.
    const slow = setTimeout(
      () => console.error(`building ${pkg} and what it depends on (a first build takes about a minute)...`),
      4000,
    );
    const forward = (signal) => child.kill(signal);
    for (const s of SIGNALS) process.on(s, forward);
    child.on('error', () => resolve({ code: 1 }));
    child.on('exit', (code, signal) => {
      clearTimeout(slow);
      for (const s of SIGNALS) process.off(s, forward);
      resolve({ code, signal });
    });
  });
}

const built = await build();
if (built.signal) {
  // Stopped by a signal: leave the same way, so the caller sees the signal, not a success.
  process.kill(process.pid, built.signal);
} else if (built.code !== 0) {
  console.error(`${pkg}: the build failed; run \`pnpm build\` to see why`);
  process.exit(1);
} else {
  const path = join(root, entry);
  process.argv = [process.argv[0], path, ...args];
  await import(pathToFileURL(path).href);
}
