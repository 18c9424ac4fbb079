import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer, request, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { serveDirectory } from '../src/browser.js';

const dir = mkdtempSync(join(tmpdir(), 'cardinal-serve-'));
writeFileSync(join(dir, 'a.json'), '{"ok":true}');
let server: Server;
let port = 0;

beforeAll(async () => {
  const mw = serveDirectory('/files/', dir);
  server = createServer((req, res) =>
    mw(req, res, () => {
      res.statusCode = 418;
      res.end('next');
    }),
  );
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  port = (server.address() as { port: number }).port;
});
afterAll(() => server.close());

/** A raw GET on 127.0.0.1 (the path sent as is, unescaped by any client). */
function get(path: string): Promise<{ status: number; type: string | undefined; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, method: 'GET' }, (res) => {
      let body = '';
      res.on('data', (d) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode!, type: res.headers['content-type'], body }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('serveFiles', () => {
  it('serves a file with its type', async () => {
    expect(await get('/files/a.json')).toEqual({
      status: 200,
      type: 'application/json',
      body: '{"ok":true}',
    });
  });

  it('answers a malformed %-escape with 400, as plain text', async () => {
    const r = await get('/files/%E0%A4%A.json');
    expect(r.status).toBe(400);
    expect(r.type).toMatch(/^text\/plain/);
  });

  it('answers a missing file with 404 as plain text, never echoing the decoded path', async () => {
    const r = await get('/files/%3Cscript%3Ealert(1)%3C%2Fscript%3E.json');
    expect(r.status).toBe(404);
    expect(r.type).toMatch(/^text\/plain/);
    expect(r.body).not.toContain('<script>');
  });

  it('never serves above its folder', async () => {
    expect((await get('/files/..%2F..%2Fetc%2Fpasswd')).status).not.toBe(200);
    expect((await get('/other/a.json')).status).toBe(418);
  });
});
