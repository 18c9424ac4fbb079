#!/usr/bin/env node
import { main } from './main.js';

// A reader that stops early (`cardinal ... | head`) closes the pipe: stop quietly, as Unix tools do.
process.stdout.on('error', (e: NodeJS.ErrnoException) => {
  if (e.code === 'EPIPE') process.exit(0);
  throw e;
});

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (e: unknown) => {
    console.error(`cardinal: error: ${(e as Error).message}`);
    process.exitCode = 70;
  },
);
