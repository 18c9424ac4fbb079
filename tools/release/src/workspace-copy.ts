// A throw-away copy of the repository to version and publish from, as a maintainer's checkout
// would be after `pnpm install && pnpm build`: sources, built dist/ folders, changesets; no
// node_modules (publishing reads package.json files and packs dist/).
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

const SKIP = new Set(['node_modules', '.git', '.turbo', 'web-dist']);

export function copyWorkspace(root: string, to: string): void {
  cpSync(root, to, {
    recursive: true,
    filter: (src) => !SKIP.has(src.slice(src.lastIndexOf('/') + 1)),
  });
}

export interface WorkspacePackage {
  name: string;
  version: string;
  dir: string;
  private: boolean;
}

/** The workspace's packages (pnpm's view), with their versions as they stand in `dir`. */
export function workspacePackages(dir: string): WorkspacePackage[] {
  const out = execFileSync('pnpm', ['-r', 'ls', '--depth', '-1', '--json'], { cwd: dir, encoding: 'utf8' });
  return (JSON.parse(out) as { name: string; path: string }[])
    .filter((p) => existsSync(join(p.path, 'package.json')))
    .map((p) => {
      const pkg = JSON.parse(readFileSync(join(p.path, 'package.json'), 'utf8'));
      return { name: pkg.name, version: pkg.version, dir: p.path, private: pkg.private === true };
    });
}
