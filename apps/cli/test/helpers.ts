import { spawnSync } from 'node:child_process';
import { resolve } from 'node:path';
import { main } from '../src/main.js';

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the CLI in-process with captured output. */
export async function cli(...argv: string[]): Promise<CliResult> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(argv, { out: (s) => out.push(s), err: (s) => err.push(s) });
  return { code, stdout: out.join('\n'), stderr: err.join('\n') };
}

/** Debian's python3: the references (numpy, torch, torchvision, PIL) are run with it, never a pyenv one. */
export const DEBIAN_PYTHON = '/usr/bin/python3';

/** A reference script of core's tests (`packages/core/test/reference/<name>`). */
export const referenceScript = (name: string) =>
  resolve(import.meta.dirname, '..', '..', '..', 'packages', 'core', 'test', 'reference', name);

/**
 * Whether Debian's python3 imports every module a reference needs; when it does not, says which
 * tests are skipped and which apt packages would bring them.
 */
export function debianPythonHas(modules: string[], skipped: string, packages: string): boolean {
  const ok =
    spawnSync(DEBIAN_PYTHON, ['-c', `import ${modules.join(', ')}`], { stdio: 'ignore' }).status === 0;
  if (!ok) console.log(`skipped ${skipped}: Debian ${packages} missing (apt install ${packages})`);
  return ok;
}

export { blackPng } from '@cardinal/testkit';
