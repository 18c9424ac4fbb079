import { createHash } from 'node:crypto';
import {
  closeSync,
  createReadStream,
  fsyncSync,
  mkdirSync,
  openSync,
  renameSync,
  statSync,
  unlinkSync,
  writeSync,
} from 'node:fs';
import { homedir } from 'node:os';
import { basename, join } from 'node:path';
import { FetchError, printable } from '@cardinal/core';
import { isFile } from './files.js';

export interface FetchOptions {
  /** Cache folder; default $CARDINAL_CACHE, else $XDG_CACHE_HOME/cardinal, else ~/.cache/cardinal. */
  cacheDir?: string;
  /** Use only the cache, never the network; default true when CARDINAL_OFFLINE=1 or HF_HUB_OFFLINE=1. */
  offline?: boolean;
  /** The Hugging Face endpoint for hf-hub: names; default $HF_ENDPOINT, else https://huggingface.co. */
  hfEndpoint?: string;
  /** Bytes received so far and the total when the server said it, per file. */
  onProgress?: (received: number, total: number | undefined, file: string) => void;
}

/** Whether a --weights or --model value names something to download rather than a local path. */
export function isRemote(spec: string): boolean {
  return /^https?:\/\//i.test(spec) || spec.startsWith('hf-hub:');
}

/** The cache folder (see FetchOptions.cacheDir). */
export function cacheDir(options: FetchOptions = {}): string {
  const env = process.env;
  return (
    options.cacheDir ??
    env.CARDINAL_CACHE ??
    join(env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'cardinal')
  );
}

function isOffline(options: FetchOptions): boolean {
  return options.offline ?? (process.env.CARDINAL_OFFLINE === '1' || process.env.HF_HUB_OFFLINE === '1');
}

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '[::1]']);

/** https anywhere; plain http only to this machine (a test server), since weights are code-adjacent. */
function checkUrl(raw: string, what: string): URL {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new FetchError(`${printable(raw.slice(0, 200))}: not a valid URL`);
  }
  if (url.protocol === 'https:') return url;
  if (url.protocol === 'http:' && LOOPBACK.has(url.hostname)) return url;
  throw new FetchError(`${url.href}: ${what} are downloaded over https only (http only from 127.0.0.1)`);
}

/**
 * torch.hub's check: a published file name `name-<hex>.ext` carries a prefix of the file's
 * sha256 (torchvision's resnext50_32x4d-7cdf4587.pth). Undefined when the name has none.
 */
export function hashPrefixOf(fileName: string): string | undefined {
  const m = /-([a-f0-9]*)\./.exec(fileName);
  return m?.[1] || undefined;
}

function sizeOf(path: string): number {
  try {
    return statSync(path).size;
  } catch {
    return 0;
  }
}

async function hashFile(path: string, hash: ReturnType<typeof createHash>): Promise<void> {
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
}

interface Expect {
  /** A full sha256 (hf-hub ETags) or a prefix of one (torch.hub names). */
  sha256?: string;
}

/**
 * Downloads `url` to `target` once: into `target.partial`, resumed with a Range request when a
 * previous download stopped, checked against the expected sha256 (or prefix), then renamed into
 * place, so the cache holds complete, checked files only. A cached file is returned as it is.
 */
async function download(
  url: URL,
  target: string,
  label: string,
  expect: Expect,
  options: FetchOptions,
): Promise<string> {
  if (isFile(target)) return target;
  if (isOffline(options))
    throw new FetchError(`${label}: not in the cache (${target}) and offline mode is on`);
  mkdirSync(join(target, '..'), { recursive: true });
  const partial = `${target}.partial`;
  let start = sizeOf(partial);
  let res: Response;
  try {
    res = await fetch(url, { headers: start > 0 ? { Range: `bytes=${start}-` } : {}, redirect: 'follow' });
  } catch (e) {
    const cause = (e as { cause?: { code?: string; message?: string } }).cause;
    throw new FetchError(
      `${label}: download failed (${cause?.code ?? cause?.message ?? (e as Error).message})`,
    );
  }
  checkUrl(res.url || url.href, 'weights');
  if (res.status === 416) {
    // The partial file is as long as the resource or longer: start again.
    await res.body?.cancel();
    unlinkSync(partial);
    return download(url, target, label, expect, options);
  }
  if (res.status !== 200 && res.status !== 206) {
    await res.body?.cancel();
    throw new FetchError(
      `${label}: download failed (HTTP ${res.status}${res.statusText ? ` ${res.statusText}` : ''})`,
    );
  }
  if (res.status === 200 || !new RegExp(`^bytes ${start}-`).test(res.headers.get('content-range') ?? ''))
    start = 0;
  const etag = (res.headers.get('x-linked-etag') ?? res.headers.get('etag') ?? '')
    .replace(/^W\//, '')
    .replace(/"/g, '');
  const sha256 = expect.sha256 ?? (/^[0-9a-f]{64}$/.test(etag) ? etag : undefined);
  const length = Number(res.headers.get('content-length') ?? Number.NaN);
  const total = Number.isFinite(length) ? start + length : undefined;
  const hash = createHash('sha256');
  if (start > 0) await hashFile(partial, hash);
  const fd = openSync(partial, start > 0 ? 'a' : 'w');
  let received = start;
  try {
    options.onProgress?.(received, total, basename(target));
    if (res.body)
      for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
        let off = 0;
        while (off < chunk.byteLength) off += writeSync(fd, chunk, off);
        hash.update(chunk);
        received += chunk.byteLength;
        options.onProgress?.(received, total, basename(target));
      }
    fsyncSync(fd);
  } catch (e) {
    throw new FetchError(
      `${label}: download interrupted after ${received} bytes (run again to resume): ${(e as Error).message}`,
    );
  } finally {
    closeSync(fd);
  }
  if (total !== undefined && received !== total)
    throw new FetchError(
      `${label}: download ended after ${received} of ${total} bytes (run again to resume)`,
    );
  const digest = hash.digest('hex');
  if (sha256 && !digest.startsWith(sha256.toLowerCase())) {
    unlinkSync(partial);
    throw new FetchError(
      `${label}: sha256 ${digest} does not match the expected ${sha256}; the download was removed`,
    );
  }
  renameSync(partial, target);
  return target;
}

/**
 * A weights file at an https URL, downloaded once into the cache. A torchvision-style name
 * (`resnext50_32x4d-7cdf4587.pth`) has its hash prefix checked as torch.hub checks it.
 * Returns the cached path.
 */
export async function fetchUrl(spec: string, options: FetchOptions & Expect = {}): Promise<string> {
  const url = checkUrl(spec, 'weights');
  const name = basename(decodeURIComponent(url.pathname)) || 'download';
  if (!/^[\w.+-]{1,200}$/.test(name) || name.startsWith('.'))
    throw new FetchError(`${url.href}: the file name '${printable(name.slice(0, 80))}' cannot be cached`);
  // One folder per URL, so two hosts' files of the same name never meet.
  const key = createHash('sha256').update(url.href).digest('hex').slice(0, 16);
  const target = join(cacheDir(options), 'url', key, name);
  return download(url, target, url.href, { sha256: options.sha256 ?? hashPrefixOf(name) }, options);
}

/** `hf-hub:<org>/<name>[@revision]`, checked: names as the hub allows them, nothing that walks paths. */
export function parseHfHub(spec: string): { repo: string; revision: string } {
  const m = /^hf-hub:([A-Za-z0-9][\w.-]{0,95})\/([A-Za-z0-9][\w.-]{0,95})(?:@([\w.-]{1,128}))?$/.exec(spec);
  if (!m || m[1]!.includes('..') || m[2]!.includes('..') || m[3]?.includes('..'))
    throw new FetchError(
      `${printable(spec.slice(0, 200))}: expected hf-hub:<org>/<name> or hf-hub:<org>/<name>@<revision>`,
    );
  return { repo: `${m[1]}/${m[2]}`, revision: m[3] ?? 'main' };
}

/**
 * A timm model folder on the Hugging Face hub (`hf-hub:timm/resnext50_32x4d.fb_in1k`): its
 * config.json and model.safetensors (pytorch_model.bin when the repo has no safetensors)
 * downloaded once into the cache, LFS files checked against their sha256 ETag. Returns the
 * cached folder, which loadModelFolder reads.
 */
export async function fetchHfFolder(spec: string, options: FetchOptions = {}): Promise<string> {
  const { repo, revision } = parseHfHub(spec);
  const endpoint = (options.hfEndpoint ?? process.env.HF_ENDPOINT ?? 'https://huggingface.co').replace(
    /\/+$/,
    '',
  );
  const dir = join(cacheDir(options), 'hf', ...repo.split('/'), revision);
  const get = (file: string) =>
    download(
      checkUrl(`${endpoint}/${repo}/resolve/${encodeURIComponent(revision)}/${file}`, 'models'),
      join(dir, file),
      `${spec} ${file}`,
      {},
      options,
    );
  await get('config.json');
  if (isFile(join(dir, 'pytorch_model.bin'))) return dir;
  try {
    await get('model.safetensors');
  } catch (e) {
    if (!(e instanceof FetchError) || !/HTTP 404/.test(e.message)) throw e;
    await get('pytorch_model.bin');
  }
  return dir;
}
