/**
 * The dashboard in a real browser (headless Chromium through playwright-core, Debian's chromium):
 * the page loads under its CSP with no error, its request counter moves with the traffic, and
 * under `strata serve --workers 2` a worker killed with SIGKILL shows up as a restart.
 * Fails in CI without chromium, skips elsewhere.
 *
 * STRATA_DASHBOARD_SCREENSHOT=docs/img/dashboard.png (and STRATA_DASHBOARD_SCREENSHOT_WAIT=ms)
 * also saves the screenshot the docs show, taken under light load.
 */
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import type { BrowserContext, Page } from 'playwright-core';
import { App } from '../../src/app/index.ts';
import { serve } from '../../src/server.ts';
import { chromiumSkip, launchChromium } from '../fixtures/chromium.ts';
import { freePort } from '../fixtures/ports.ts';
import { killAll, startPrimary } from '../fixtures/supervisor.ts';

const skip = chromiumSkip();

after(killAll);

async function withBrowser(fn: (browser: BrowserContext) => Promise<void>): Promise<void> {
  const browser = await launchChromium({ viewport: { width: 1100, height: 800 } });
  try {
    await fn(browser);
  } finally {
    await browser.close();
  }
}

/** Opens the dashboard and collects the page's errors (a CSP violation is one). */
async function open(browser: BrowserContext, url: string): Promise<{ page: Page; errors: string[] }> {
  const page = await browser.newPage();
  const errors: string[] = [];
  page.on('pageerror', (err) => errors.push(err.message));
  page.on('console', (msg) => {
    if (msg.type() === 'error') errors.push(msg.text());
  });
  await page.goto(url);
  await page.waitForFunction(() => document.getElementById('health')?.textContent === 'healthy', null, {
    timeout: 10_000,
  });
  return { page, errors };
}

const counter = (page: Page, id: string): Promise<number> =>
  page.$eval(`#${id}`, (el) => Number((el.textContent ?? '').replace(/[^0-9.]/g, '')));

/** A light, bounded background load: `rate` requests a second until stopped (at most `maxMs`). */
function lightLoad(url: string, rate = 20, maxMs = 60_000): () => Promise<void> {
  let stopped = false;
  const deadline = Date.now() + maxMs;
  const done = (async () => {
    for (let i = 0; !stopped && Date.now() < deadline; i++) {
      const path = i % 17 === 0 ? '/slow?ms=40' : i % 29 === 0 ? '/nope-404' : '/';
      await fetch(`${url}${path}`)
        .then((r) => r.arrayBuffer())
        .catch(() => {});
      await new Promise((r) => setTimeout(r, 1000 / rate));
    }
  })();
  return async () => {
    stopped = true;
    await done;
  };
}

test('the page loads under its CSP and the request counter moves with the traffic', {
  skip,
  timeout: 60_000,
}, async () => {
  const app = new App();
  app.get('/hello', (c) => c.text('hi'));
  await using server = await serve(app, { port: 0, logger: false, admin: { port: 0 } });
  await withBrowser(async (browser) => {
    const { page, errors } = await open(browser, `${server.adminUrl}/dashboard`);
    assert.equal((await page.locator('canvas').count()) >= 4, true, 'four uPlot charts');
    assert.equal(await page.locator('#workers tbody tr').count(), 1);
    const before = await counter(page, 'requests-total');
    for (let i = 0; i < 25; i++) assert.equal((await fetch(`${server.url}/hello`)).status, 200);
    await page.waitForFunction(
      (n) =>
        Number((document.getElementById('requests-total')!.textContent ?? '').replace(/[^0-9.]/g, '')) >= n,
      before + 25,
      { timeout: 10_000 },
    );
    await page.waitForFunction(() => document.getElementById('rps')!.textContent !== '—', null, {
      timeout: 5000,
    });
    assert.match((await page.textContent('#latency')) ?? '', /ms/);
    assert.deepEqual(errors, [], 'no script error and no CSP violation');
  });
});

test('--workers 2: a worker killed with SIGKILL shows up as a restart', {
  skip,
  timeout: 90_000,
}, async () => {
  const adminPort = await freePort();
  const primary = await startPrimary(['--workers', '2', '--admin', `127.0.0.1:${adminPort}`]);
  const stopLoad = lightLoad(primary.url);
  try {
    await withBrowser(async (browser) => {
      const { page, errors } = await open(browser, `http://127.0.0.1:${adminPort}/dashboard`);
      await page.waitForFunction(
        () => document.querySelectorAll('#workers tbody td.state-ready').length === 2,
        null,
        { timeout: 15_000 },
      );
      assert.equal((await page.textContent('#restarts-total'))?.trim(), '0');
      const pids = await page.$$eval('#workers tbody tr', (rows) =>
        rows.map((r) => Number((r as HTMLElement).dataset.pid)),
      );
      assert.equal(pids.length, 2);
      const before = await counter(page, 'requests-total');
      await page.waitForFunction(
        (n) =>
          Number((document.getElementById('requests-total')!.textContent ?? '').replace(/[^0-9.]/g, '')) > n,
        before,
        { timeout: 10_000 },
      );

      process.kill(pids[0]!, 'SIGKILL');
      await page.waitForFunction(
        () => (document.getElementById('restarts-total')!.textContent ?? '').startsWith('1 (exit 1)'),
        null,
        { timeout: 20_000 },
      );
      // The replacement comes up under a new pid; the killed one is gone from the table.
      await page.waitForFunction(
        (dead) => {
          const rows = [...document.querySelectorAll<HTMLElement>('#workers tbody tr')];
          return (
            rows.length === 2 &&
            !rows.some((r) => r.dataset.pid === String(dead)) &&
            document.querySelectorAll('#workers tbody td.state-ready').length === 2
          );
        },
        pids[0]!,
        { timeout: 20_000 },
      );
      const shot = process.env.STRATA_DASHBOARD_SCREENSHOT;
      if (shot !== undefined) {
        await new Promise((r) => setTimeout(r, Number(process.env.STRATA_DASHBOARD_SCREENSHOT_WAIT ?? 5000)));
        await page.screenshot({ path: shot });
      }
      assert.deepEqual(errors, []);
    });
  } finally {
    await stopLoad();
    primary.killGroup();
  }
});
