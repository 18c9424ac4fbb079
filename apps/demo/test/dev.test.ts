import { spawn } from 'node:child_process';
import { connect, createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import { stripVTControlCharacters } from 'node:util';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../../..', import.meta.url));

const freePort = () =>
  new Promise<number>((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });

const listening = (port: number) =>
  new Promise<boolean>((resolve) => {
    const c = connect(port, '127.0.0.1');
    c.once('connect', () => {
      c.destroy();
      resolve(true);
    });
    c.once('error', () => resolve(false));
  });

describe('pnpm demo', () => {
  it('serves on 127.0.0.1 and, sent SIGTERM (pnpm itself, not its group), leaves nothing listening', async () => {
    const port = await freePort();
    const child = spawn('pnpm', ['demo', '--port', String(port)], {
      cwd: root,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    const started = Date.now();
    while (!(await listening(port))) {
      expect(Date.now() - started, out).toBeLessThan(60_000);
      await new Promise((r) => setTimeout(r, 200));
    }
    // Vite colours its banner where the environment asks for colour (CI does).
    const plain = stripVTControlCharacters(out);
    expect(plain).toContain(`http://127.0.0.1:${port}/`);
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    child.kill('SIGTERM');
    await exited;
    // Vite ran in the process pnpm exec'd, so the port closes with it.
    const stopped = Date.now();
    while (await listening(port)) {
      expect(Date.now() - stopped, 'still listening after SIGTERM').toBeLessThan(5_000);
      await new Promise((r) => setTimeout(r, 100));
    }
  }, 90_000);
});
