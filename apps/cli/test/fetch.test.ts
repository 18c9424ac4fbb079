import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readNpy } from '@cardinal/core';
import { compareToExpected, loadFixture } from '@cardinal/testkit';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { cli } from './helpers.js';

/**
 * Weights over the network, against a server on 127.0.0.1 that serves files made in the test:
 * torch.hub's hash-prefix check, the cache (one download), resuming a cut download with a Range
 * request, offline mode, and hf-hub: folders checked against their sha256 ETags.
 */
const fx = loadFixture('tiny_resnext');
const weights = readFileSync(fx.weightsPath);
const sha = createHash('sha256').update(weights).digest('hex');
const tmp = mkdtempSync(join(tmpdir(), 'cardinal-fetch-'));
const cache = join(tmp, 'cache');
const hfFolder = join(tmp, 'hf-folder');

const requests: { url: string; range?: string }[] = [];
let server: Server;
let base = '';
let cutOnce = true;

function send(
  res: ServerResponse,
  req: IncomingMessage,
  body: Buffer,
  headers: Record<string, string> = {},
): void {
  const range = /^bytes=(\d+)-$/.exec(req.headers.range ?? '');
  if (range) {
    const start = Number(range[1]);
    res.writeHead(206, {
      ...headers,
      'Content-Length': String(body.length - start),
      'Content-Range': `bytes ${start}-${body.length - 1}/${body.length}`,
    });
    res.end(body.subarray(start));
    return;
  }
  res.writeHead(200, { ...headers, 'Content-Length': String(body.length) });
  res.end(body);
}

function handle(req: IncomingMessage, res: ServerResponse): void {
  const url = req.url ?? '';
  requests.push({ url, ...(req.headers.range ? { range: req.headers.range } : {}) });
  if (url === `/w/tiny_resnext-${sha.slice(0, 8)}.pth` || url === '/w/tiny_resnext-deadbeef.pth') {
    send(res, req, weights);
    return;
  }
  if (url === `/cut/tiny_resnext-${sha.slice(0, 8)}.pth`) {
    if (cutOnce && !req.headers.range) {
      // Promise the whole file, send a third of it, and drop the connection.
      cutOnce = false;
      res.writeHead(200, { 'Content-Length': String(weights.length) });
      res.write(weights.subarray(0, Math.floor(weights.length / 3)), () => res.socket?.destroy());
      return;
    }
    send(res, req, weights);
    return;
  }
  const hf = /^\/hf\/(org\/(tiny|bad))\/resolve\/main\/(config\.json|model\.safetensors)$/.exec(url);
  if (hf) {
    const body = readFileSync(join(hfFolder, hf[3]!));
    const digest = createHash('sha256').update(body).digest('hex');
    const etag = hf[2] === 'bad' ? '0'.repeat(64) : digest;
    send(res, req, body, hf[3] === 'model.safetensors' ? { ETag: `"${etag}"` } : {});
    return;
  }
  res.writeHead(404).end();
}

const cached = () =>
  readdirSync(cache, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => e.name);

async function runWith(weightsSpec: string, out: string) {
  return cli(
    'run',
    join(fx.dir, 'meta.json'),
    '--weights',
    weightsSpec,
    '--input',
    join(fx.dir, 'input.npy'),
    '--out',
    out,
  );
}

describe('weights over https/http (127.0.0.1 test server)', () => {
  beforeAll(async () => {
    server = createServer(handle);
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    process.env.CARDINAL_CACHE = cache;
    process.env.HF_ENDPOINT = `${base}/hf`;
    const r = await cli(
      'export',
      join(fx.dir, 'meta.json'),
      '--weights',
      fx.weightsPath,
      '--format',
      'folder',
      '--out',
      hfFolder,
    );
    expect(r.code, r.stderr).toBe(0);
  });
  afterAll(() => {
    server.close();
    delete process.env.CARDINAL_CACHE;
    delete process.env.HF_ENDPOINT;
    delete process.env.CARDINAL_OFFLINE;
  });
  beforeEach(() => {
    requests.length = 0;
    delete process.env.CARDINAL_OFFLINE;
  });

  it('downloads a torch.hub-named file once, checks its hash prefix, and passes the fixture from the cache', async () => {
    const url = `${base}/w/tiny_resnext-${sha.slice(0, 8)}.pth`;
    for (const round of [1, 2]) {
      const out = join(tmp, `y${round}.npy`);
      const r = await runWith(url, out);
      expect(r.code, r.stderr).toBe(0);
      expect(compareToExpected(readNpy(readFileSync(out)), fx.expected, fx.atol).pass).toBe(true);
    }
    expect(requests).toHaveLength(1);
  });

  it('refuses a file whose sha256 does not start with the prefix in its name, and keeps nothing', async () => {
    const url = `${base}/w/tiny_resnext-deadbeef.pth`;
    const r = await runWith(url, join(tmp, 'bad.npy'));
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(
      `cardinal: error: ${url}: sha256 ${sha} does not match the expected deadbeef; the download was removed`,
    );
    expect(cached().some((n) => n.includes('deadbeef'))).toBe(false);
  });

  it('resumes a cut download with a Range request', async () => {
    const url = `${base}/cut/tiny_resnext-${sha.slice(0, 8)}.pth`;
    let r = await runWith(url, join(tmp, 'cut1.npy'));
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/run again to resume/);
    expect(r.stderr.split('\n')).toHaveLength(1);
    r = await runWith(url, join(tmp, 'cut2.npy'));
    expect(r.code, r.stderr).toBe(0);
    const resumed = requests.at(-1)!;
    expect(resumed.range).toMatch(/^bytes=[1-9]\d*-$/);
    expect(Number(/=(\d+)/.exec(resumed.range!)![1])).toBeLessThan(weights.length);
    expect(compareToExpected(readNpy(readFileSync(join(tmp, 'cut2.npy'))), fx.expected, fx.atol).pass).toBe(
      true,
    );
  });

  it('offline: uses the cache and never the network; a file not cached is an error', async () => {
    process.env.CARDINAL_OFFLINE = '1';
    let r = await runWith(`${base}/w/tiny_resnext-${sha.slice(0, 8)}.pth`, join(tmp, 'off.npy'));
    expect(r.code, r.stderr).toBe(0);
    const url = `${base}/w/other-${sha.slice(0, 8)}.pth`;
    r = await runWith(url, join(tmp, 'off2.npy'));
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(
      new RegExp(`^cardinal: error: ${url}: not in the cache \\(.*\\) and offline mode is on$`),
    );
    expect(requests).toHaveLength(0);
  });

  it('hf-hub: fetches a timm folder (config.json + model.safetensors, sha256 ETag checked) and classifies as the local folder', async () => {
    const image = '/usr/lib/python3/dist-packages/skimage/data/chelsea.png';
    const local = await cli('classify', image, '--model', hfFolder, '--json');
    const remote = await cli('classify', image, '--model', 'hf-hub:org/tiny', '--json');
    expect(remote.code, remote.stderr).toBe(0);
    const results = (s: string) => (JSON.parse(s) as { results: unknown }).results;
    expect(results(remote.stdout)).toEqual(results(local.stdout));
    expect(requests.map((q) => q.url)).toEqual([
      '/hf/org/tiny/resolve/main/config.json',
      '/hf/org/tiny/resolve/main/model.safetensors',
    ]);
    const bad = await cli('classify', image, '--model', 'hf-hub:org/bad');
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(
      /^cardinal: error: hf-hub:org\/bad model\.safetensors: sha256 [0-9a-f]{64} does not match the expected 0{64}/,
    );
  });

  it('refuses plain http beyond this machine and malformed hub names before any request', async () => {
    let r = await runWith('http://example.com/w/tiny-00000000.pth', join(tmp, 'x.npy'));
    expect([r.code, r.stderr]).toEqual([
      1,
      'cardinal: error: http://example.com/w/tiny-00000000.pth: weights are downloaded over https only (http only from 127.0.0.1)',
    ]);
    r = await cli('summary', 'hf-hub:../../etc');
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/expected hf-hub:<org>\/<name>/);
    expect(requests).toHaveLength(0);
    expect(existsSync(join(cache, 'hf', '..', '..', 'etc'))).toBe(false);
  });
});
