import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const CLI = resolve(import.meta.dirname, '..', 'dist', 'cli.js');

describe.skipIf(!existsSync(CLI))('pnpm bench as a user calls it', () => {
  it('--help prints the usage and exits 0', () => {
    const r = spawnSync(process.execPath, [CLI, '--help'], { encoding: 'utf8' });
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^usage: pnpm bench/);
    expect(r.stderr).toBe('');
  });

  it('an unknown flag is one line of usage error, exit 2, no stack trace', () => {
    const r = spawnSync(process.execPath, [CLI, '--nope'], { encoding: 'utf8' });
    expect(r.status).toBe(2);
    expect(r.stderr.split('\n')[0]).toMatch(/^bench: unknown option '--nope'/i);
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });
});
