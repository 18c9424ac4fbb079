import { createReadStream, existsSync, statSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { join, normalize } from 'node:path';
import type { Browser } from 'playwright-core';
import { extraFixturesDir, fixturesDir, timmFixturesDir } from './fixtures.js';

/** Debian's Chromium, installed by `.ci/run`; never a browser a tool downloads. */
export const CHROMIUM_PATH = process.env.CARDINAL_CHROMIUM ?? '/usr/bin/chromium';

/** Why browser tests cannot run here, or undefined when they can. */
export function chromiumUnavailableReason(): string | undefined {
  if (!existsSync(CHROMIUM_PATH))
    return `no Chromium at ${CHROMIUM_PATH} (apt-get install chromium, or set CARDINAL_CHROMIUM)`;
  return undefined;
}

/**
 * Headless Chromium with WebGPU on (SwiftShader where there is no GPU), no background
 * networking (the machine's closed network refuses it), a fresh profile.
 */
export async function launchChromium(options: { extraArgs?: string[] } = {}): Promise<Browser> {
  const { chromium } = await import('playwright-core');
  return chromium.launch({
    executablePath: CHROMIUM_PATH,
    headless: true,
    args: [
      '--enable-unsafe-webgpu',
      '--no-sandbox',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--disable-quic',
      '--no-first-run',
      ...(options.extraArgs ?? []),
    ],
  });
}

const CONTENT_TYPES: Record<string, string> = {
  '.json': 'application/json',
  '.js': 'text/javascript',
  '.mjs': 'text/javascript',
  '.wasm': 'application/wasm',
};

type Middleware = (req: IncomingMessage, res: ServerResponse, next: () => void) => void;

/**
 * Connect-style middleware serving files under `prefix`: `locate` maps the path below the
 * prefix (never above it) to a file; a missing file is a 404 naming it.
 */
export function serveFiles(prefix: string, locate: (rel: string) => string): Middleware {
  const answer = (res: ServerResponse, status: number, text: string) => {
    res.statusCode = status;
    res.setHeader('Content-Type', 'text/plain; charset=utf-8');
    res.setHeader('X-Content-Type-Options', 'nosniff');
    res.end(text);
  };
  return (req, res, next) => {
    const raw = (req.url ?? '').split('?')[0]!;
    if (!raw.startsWith(prefix)) {
      next();
      return;
    }
    let url: string;
    try {
      url = decodeURIComponent(raw);
    } catch {
      answer(res, 400, 'malformed %-escape in the path');
      return;
    }
    const rel = normalize(url.slice(prefix.length));
    if (!url.startsWith(prefix) || rel.startsWith('..') || url.includes('\0')) {
      next();
      return;
    }
    const file = locate(rel);
    if (!existsSync(file) || !statSync(file).isFile()) {
      // The path as the client sent it (still escaped), never the decoded text.
      answer(res, 404, `no such file under ${prefix}: ${raw.slice(prefix.length, prefix.length + 200)}`);
      return;
    }
    const ext = file.slice(file.lastIndexOf('.'));
    res.setHeader('Content-Type', CONTENT_TYPES[ext] ?? 'application/octet-stream');
    createReadStream(file).pipe(res);
  };
}

/** A folder served at `prefix`. */
export const serveDirectory = (prefix: string, dir: string): Middleware =>
  serveFiles(prefix, (rel) => join(dir, rel));

/**
 * The fixtures at `/fixtures/<name>/<file>` (the shared ones, `timm/<name>` and `extra/<name>`),
 * for pages that run fixtures in a browser.
 */
export const fixturesMiddleware = (prefix = '/fixtures/'): Middleware =>
  serveFiles(prefix, (rel) => {
    if (rel.startsWith('extra/')) return join(extraFixturesDir(), rel.slice(6));
    const timm = timmFixturesDir();
    if (rel.startsWith('timm/') && timm) return join(timm, rel.slice(5));
    return join(fixturesDir(), rel);
  });
