/**
 * Takes the README's pictures of the showcase: `npx node examples/showcase/screenshots.ts`
 * writes docs/img/showcase-home.png and docs/img/showcase-docs.png (headless Chromium at
 * 1024×700, playwright-core with Debian's chromium; CHROMIUM=/path overrides it).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { serve } from '../../src/server/index.ts';
import showcase from './app.ts';

const out = join(import.meta.dirname, '../../docs/img');
const server = await serve(showcase, { port: 0, logger: false });
const profile = mkdtempSync(join(tmpdir(), 'strata-chromium-'));
const browser = await chromium.launchPersistentContext(profile, {
  executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
  viewport: { width: 1024, height: 700 },
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--hide-scrollbars'],
});
try {
  const page = await browser.newPage();
  // Signed in as alice, a few quotes spent: the tour's identity and rate-limit sections.
  await page.goto(`${server.url}/login`);
  await page.fill('input[name=username]', 'alice');
  await page.fill('input[name=password]', 'wonderland');
  await page.click('form.stack button');
  await page.waitForSelector('#status:has-text("strata showcase")');
  for (let i = 1; i <= 3; i++) {
    await page.click('#quote');
    await page.waitForFunction((n) => document.getElementById('quoted')!.dataset.count === String(n), i);
  }
  await page
    .locator('h2:text("Identity")')
    .evaluate((h) => window.scrollTo(0, (h as HTMLElement).offsetTop - 24));
  await page.screenshot({ path: join(out, 'showcase-home.png') });

  await page.goto(`${server.url}/docs`);
  await page.waitForSelector('.swagger-ui .info .title:has-text("strata showcase API")');
  await page.waitForSelector('.opblock-summary-path[data-path="/api/quote"]');
  await page.screenshot({ path: join(out, 'showcase-docs.png') });
} finally {
  await browser.close();
  rmSync(profile, { recursive: true, force: true });
  await server.close();
  await showcase.shutdown();
}
