/**
 * The showcase's identity and docs in a real browser: headless Chromium (playwright-core, Debian's
 * chromium) logs in as alice through the form, sees the admin page, spends the quote route's
 * budget, logs out, and opens Swagger UI at /docs — all under the pages' Content-Security-Policy,
 * which must block nothing. Fails in CI without chromium, skips elsewhere.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { type BrowserContext, chromium, type Page } from 'playwright-core';
import showcase from '../../examples/showcase/app.ts';
import { serve } from '../../src/server/index.ts';

const CHROMIUM = '/usr/bin/chromium';

function chromiumAvailable(): true | string {
  if (existsSync(CHROMIUM)) return true;
  if (process.env.CI === 'true') throw new Error(`${CHROMIUM} is required in CI (.ci/run installs chromium)`);
  return `${CHROMIUM} is not installed (apt-get install chromium); skipping the browser test`;
}

const available = chromiumAvailable();

/** Headless Chromium with a fresh profile (the launch of showcase-chat.test.ts). */
async function launch(): Promise<{ browser: BrowserContext; [Symbol.asyncDispose](): Promise<void> }> {
  const profile = mkdtempSync(join(tmpdir(), 'strata-chromium-'));
  const browser = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    viewport: { width: 1024, height: 700 },
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
  return {
    browser,
    async [Symbol.asyncDispose]() {
      await browser.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

/** Collects what the page reports as blocked or broken: CSP violations, script errors. */
function watch(page: Page): string[] {
  const problems: string[] = [];
  page.on('console', (msg) => {
    if (msg.type() === 'error') problems.push(msg.text());
  });
  page.on('pageerror', (err) => problems.push(err.message));
  return problems;
}

test('alice logs in through the form, sees the admin page, spends the quote budget and logs out', {
  skip: available === true ? false : available,
  timeout: 60_000,
}, async () => {
  await using server = await serve(showcase, { port: 0, logger: false });
  await using chrome = await launch();
  const page = await chrome.browser.newPage();
  const problems = watch(page);

  // The home page's inline script runs (it has the response's nonce): the status arrives.
  await page.goto(`${server.url}/`);
  await page.waitForSelector('#status:has-text("strata showcase")');
  await page.waitForSelector('#who:has-text("Not signed in")');

  // The admin page sends a visitor to the login form, which comes back to it.
  await page.goto(`${server.url}/admin`);
  assert.equal(new URL(page.url()).pathname, '/login');
  await page.fill('input[name=username]', 'alice');
  await page.fill('input[name=password]', 'not-her-password');
  await page.click('form.stack button');
  await page.waitForSelector('#error:has-text("Wrong username or password")');
  await page.fill('input[name=username]', 'alice');
  await page.fill('input[name=password]', 'wonderland');
  await page.click('form.stack button');
  await page.waitForSelector('h1:text("Admin")');
  assert.equal(new URL(page.url()).pathname, '/admin');
  await page.waitForSelector('.who:has-text("Signed in as alice (admin)")');

  // The quote button shows the budget; past the burst the answer is 429.
  await page.goto(`${server.url}/`);
  await page.waitForSelector('#who:has-text("Signed in as alice (admin)")');
  for (let i = 0; i < 12; i++) {
    await page.click('#quote');
    await page.waitForFunction((n) => document.getElementById('quoted')!.dataset.count === String(n), i + 1);
    if ((await page.textContent('#quoted'))!.startsWith('429')) break;
  }
  assert.match((await page.textContent('#quoted'))!, /^429 Too Many Requests: retry after \d+ s$/);
  assert.match((await page.textContent('#left'))!, /^0 of 5 left/);

  // Logging out is a form with its CSRF token.
  await page.click('#who button');
  await page.waitForSelector('#who:has-text("Not signed in")');

  assert.deepEqual(
    // The browser logs the answers refused on purpose: the wrong password and the 429.
    problems.filter((p) => !/status of (401|429) /.test(p)),
    [],
    'no CSP violation, no script error',
  );
});

test('Swagger UI renders the API at /docs from files served by the app', {
  skip: available === true ? false : available,
  timeout: 60_000,
}, async () => {
  await using server = await serve(showcase, { port: 0, logger: false });
  await using chrome = await launch();
  const page = await chrome.browser.newPage();
  const problems = watch(page);
  const foreign: string[] = [];
  page.on('request', (req) => {
    if (!req.url().startsWith(server.url) && !req.url().startsWith('data:')) foreign.push(req.url());
  });
  await page.goto(`${server.url}/docs`);
  await page.waitForSelector('.swagger-ui .info .title:has-text("strata showcase API")');
  await page.waitForSelector('.opblock-summary-path[data-path="/api/quote"]');
  assert.equal(await page.locator('.opblock').count(), 9, 'the nine API operations');
  assert.deepEqual(foreign, [], 'the page loads nothing from elsewhere');
  assert.deepEqual(problems, [], 'no CSP violation, no script error');
});
