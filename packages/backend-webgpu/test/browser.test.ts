import { fileURLToPath } from 'node:url';
import { conformanceCases } from '@cardinal/testkit';
import { chromiumUnavailableReason, fixturesMiddleware, launchChromium } from '@cardinal/testkit/browser';
import type { Browser, Page } from 'playwright-core';
import { createServer, defaultClientConditions, type ViteDevServer } from 'vite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const reason = chromiumUnavailableReason();
if (reason) console.warn(`skipping WebGPU tests in Chromium: ${reason}`);

describe.skipIf(!!reason)('webgpu backend in headless Chromium reproduces every PyTorch fixture', () => {
  let server: ViteDevServer;
  let browser: Browser;
  let page: Page;
  const errors: string[] = [];

  beforeAll(async () => {
    server = await createServer({
      root: fileURLToPath(new URL('./browser', import.meta.url)),
      configFile: false,
      logLevel: 'error',
      // Workspace packages from their TypeScript sources, then Vite's usual browser conditions.
      resolve: { conditions: ['source', ...defaultClientConditions] },
      server: { host: '127.0.0.1', port: 0, strictPort: false, hmr: false },
      // No dependency discovery: a re-optimisation reloads the page in the middle of a test.
      optimizeDeps: { noDiscovery: true, include: [] },
      plugins: [{ name: 'fixtures', configureServer: (s) => void s.middlewares.use(fixturesMiddleware()) }],
    });
    await server.listen();
    browser = await launchChromium();
    page = await browser.newPage();
    page.on('pageerror', (e) => errors.push(e.message));
    page.on('console', (m) => {
      if (m.type() === 'error') errors.push(m.text());
    });
    await page.goto(server.resolvedUrls!.local[0]!);
    await page.waitForFunction(() => document.getElementById('status')?.textContent === 'ready');
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await server?.close();
  });

  it('finds an adapter', async () => {
    const a = (await page.evaluate(() => window.cardinalTest.availability())) as {
      available: boolean;
      reason?: string;
    };
    expect(a.reason ?? '').toBe('');
    expect(a.available).toBe(true);
  });

  it.each(conformanceCases())('%s', async (name) => {
    const r = await page.evaluate((n) => window.cardinalTest.runFixture(n), name);
    expect(r.adapter).toMatch(/webgpu/);
    expect(
      r.maxAbsDiff,
      `${name}: max |diff| ${r.maxAbsDiff} vs atol ${r.atol} on ${r.adapter}`,
    ).toBeLessThanOrEqual(r.atol);
    expect(errors).toEqual([]);
  });
});
