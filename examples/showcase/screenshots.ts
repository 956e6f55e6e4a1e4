/**
 * Takes the README's pictures of the showcase: `npx node examples/showcase/screenshots.ts`
 * writes docs/img/showcase-home.png, showcase-spa.png and showcase-docs.png (headless Chromium at
 * 1024×700 (the home page's guestbook 1024×820), playwright-core with Debian's chromium; CHROMIUM=/path overrides it). The notes go to
 * a temporary database, not data/showcase.db.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { serve } from '../../src/server.ts';
import { SPA } from './serving.ts';

const out = join(import.meta.dirname, '../../docs/img');
const data = mkdtempSync(join(tmpdir(), 'strata-showcase-'));
process.env.SHOWCASE_DATA = join(data, 'showcase.db');
const { default: showcase } = await import('./app.ts');
const server = await serve(showcase, { port: 0, logger: false, static: SPA });
const profile = mkdtempSync(join(tmpdir(), 'strata-chromium-'));
const browser = await chromium.launchPersistentContext(profile, {
  executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
  viewport: { width: 1024, height: 700 },
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--hide-scrollbars'],
});
try {
  const page = await browser.newPage();
  // Signed in as alice, a few quotes spent, three notes, the primes counted on the pool.
  await page.goto(`${server.url}/login`);
  await page.fill('input[name=username]', 'alice');
  await page.fill('input[name=password]', 'wonderland');
  await page.click('form.stack button');
  await page.waitForSelector('#status:has-text("strata showcase")');
  for (let i = 1; i <= 3; i++) {
    await page.click('#quote');
    await page.waitForFunction((n) => document.getElementById('quoted')!.dataset.count === String(n), i);
  }
  const notes = [
    ['Ada', 'The database file was created on the first start.'],
    ['Grace', 'Reloaded the page: my note is still here.'],
    ['alice', 'Opened /app/notes/2 directly, and the single-page app answered.'],
  ];
  for (const [author, text] of notes) {
    await page.fill('#sign input[name=author]', author!);
    await page.fill('#sign input[name=text]', text!);
    await page.click('#sign button');
    await page.waitForSelector(`#notes li:has-text("${text}")`);
  }
  await page.click('#pool');
  await page.waitForSelector('#cpu[data-state="done"]', { timeout: 60_000 });
  await page.setViewportSize({ width: 1024, height: 820 }); // the guestbook and the CPU result
  await page.locator('#notes-title').evaluate((h) => window.scrollTo(0, (h as HTMLElement).offsetTop - 24));
  await page.screenshot({ path: join(out, 'showcase-home.png') });

  await page.setViewportSize({ width: 1024, height: 700 });
  await page.goto(`${server.url}/app/notes/2`);
  await page.waitForSelector('#view[data-ready="/app/notes/2"]');
  await page.screenshot({ path: join(out, 'showcase-spa.png') });

  await page.goto(`${server.url}/docs`);
  await page.waitForSelector('.swagger-ui .info .title:has-text("strata showcase API")');
  await page.waitForSelector('.opblock-summary-path[data-path="/api/quote"]');
  await page.screenshot({ path: join(out, 'showcase-docs.png') });
} finally {
  await browser.close();
  rmSync(profile, { recursive: true, force: true });
  await server.close();
  rmSync(data, { recursive: true, force: true });
}
