// A throw-away npm registry for the release check: Verdaccio on 127.0.0.1, its storage in a
// temporary folder, our scope kept locally and everything else proxied from the public
// registry (its normal setup), one user created the way `npm adduser` does.
import { type ChildProcess, spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join, resolve } from 'node:path';

export interface Registry {
  url: string;
  /** The .npmrc lines that point npm and pnpm at it, with the user's token. */
  npmrc: string;
  stop(): void;
}

const VERDACCIO = resolve(import.meta.dirname, '..', 'node_modules', '.bin', 'verdaccio');

function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const s = createServer();
    s.once('error', rej);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => res(port));
    });
  });
}

export async function startRegistry(dir: string, uplink = 'https://registry.npmjs.org/'): Promise<Registry> {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  writeFileSync(
    join(dir, 'config.yaml'),
    [
      `storage: ${join(dir, 'storage')}`,
      // npmjs takes packages far larger than Verdaccio's default 10 MB (testkit ships fixtures).
      'max_body_size: 200mb',
      'auth:',
      '  htpasswd:',
      `    file: ${join(dir, 'htpasswd')}`,
      'uplinks:',
      '  npmjs:',
      `    url: ${uplink}`,
      '    timeout: 60s',
      'packages:',
      "  '@cardinal/*':",
      '    access: $all',
      '    publish: $authenticated',
      "  '**':",
      '    access: $all',
      '    publish: $authenticated',
      '    proxy: npmjs',
      'log: { type: stdout, format: pretty, level: error }',
      '',
    ].join('\n'),
  );
  const child: ChildProcess = spawn(
    VERDACCIO,
    ['--config', join(dir, 'config.yaml'), '--listen', `127.0.0.1:${port}`],
    {
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let log = '';
  child.stdout!.on('data', (d) => (log += d));
  child.stderr!.on('data', (d) => (log += d));
  const deadline = Date.now() + 30_000;
  for (;;) {
    try {
      if ((await fetch(`${url}/-/ping`)).ok) break;
    } catch {}
    if (Date.now() > deadline || child.exitCode !== null) {
      child.kill();
      throw new Error(`verdaccio did not start: ${log.slice(-2000)}`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  // What `npm adduser` sends: a CouchDB-style user document; the answer holds the token.
  const res = await fetch(`${url}/-/user/org.couchdb.user:release`, {
    method: 'PUT',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ name: 'release', password: 'release-check', type: 'user', roles: [] }),
  });
  const { token } = (await res.json()) as { token?: string };
  if (!token) throw new Error(`verdaccio refused the user: ${res.status}`);
  return {
    url,
    npmrc: `registry=${url}/\n//127.0.0.1:${port}/:_authToken=${token}\n`,
    stop: () => child.kill('SIGTERM'),
  };
}
