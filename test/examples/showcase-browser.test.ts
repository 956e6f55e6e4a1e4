/**
 * The showcase in a real browser: headless Chromium (playwright-core, Debian's chromium) logs in
 * as alice through the form, sees the admin page, spends the quote route's budget, logs out,
 * opens Swagger UI at /docs, signs the guestbook and finds the note after a reload (SQLite) and
 * at its deep link in the single-page app, presses the CPU button and watches the server keep
 * answering, and follows the banner to the dashboard — all under the pages'
 * Content-Security-Policy, which must block nothing. Fails in CI without chromium, skips elsewhere.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { BrowserContext, Page } from 'playwright-core';
import { SPA } from '../../examples/showcase/serving.ts';
import { serve } from '../../src/server.ts';
import { chromiumSkip, launchChromium } from '../fixtures/chromium.ts';

// The showcase's SQLite file: a real file (a reload must find the notes in it), in a temporary
// data directory that the app creates, not the repository's data/showcase.db. Set before the
// app is imported: it opens the database as it loads.
const data = mkdtempSync(join(tmpdir(), 'strata-showcase-'));
process.env.SHOWCASE_DATA = join(data, 'data', 'showcase.db');
const { default: showcase } = await import('../../examples/showcase/app.ts');

// One server for the file, as `npm start` serves the showcase: the single-page app under /app/
// and the admin listener. Its close shuts the app down (the pool, the database): once, at the end.
let server: Awaited<ReturnType<typeof serve>>;
before(async () => {
  server = await serve(showcase, {
    port: 0,
    logger: false,
    static: SPA,
    admin: { host: '127.0.0.1', port: 0 },
  });
});
after(async () => {
  await server?.close();
  rmSync(data, { recursive: true, force: true });
});

const skip = chromiumSkip();

/** Headless Chromium with a fresh profile, at the screenshots' size. */
async function launch(): Promise<{ browser: BrowserContext; [Symbol.asyncDispose](): Promise<void> }> {
  const browser = await launchChromium({ viewport: { width: 1024, height: 700 } });
  return { browser, [Symbol.asyncDispose]: () => browser.close() };
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
  skip,
  timeout: 60_000,
}, async () => {
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
  skip,
  timeout: 60_000,
}, async () => {
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
  assert.equal(await page.locator('.opblock').count(), 12, 'the twelve API operations');
  assert.deepEqual(foreign, [], 'the page loads nothing from elsewhere');
  assert.deepEqual(problems, [], 'no CSP violation, no script error');
});

test('a note signed on the home page is there after a reload, and at its deep link in the SPA', {
  skip,
  timeout: 60_000,
}, async () => {
  await using chrome = await launch();
  const page = await chrome.browser.newPage();
  const problems = watch(page);

  await page.goto(`${server.url}/`);
  await page.waitForSelector('#notes[data-count]');
  const text = `written in Chromium at ${Date.now()}`;
  await page.fill('#sign input[name=author]', 'Ada');
  await page.fill('#sign input[name=text]', text);
  await page.click('#sign button');
  await page.waitForSelector('#signed:has-text("Saved as note #")');
  const id = Number(/#(\d+)/.exec((await page.textContent('#signed'))!)![1]);
  // An empty text is refused with the field named.
  await page.fill('#sign input[name=author]', 'Ada');
  await page.click('#sign button');
  await page.waitForSelector('#signed:has-text("400")');
  assert.match((await page.textContent('#signed'))!, /text/);

  // A new page load reads the notes back from the database.
  await page.reload();
  await page.waitForSelector(`#notes li:has-text("${text}")`);
  assert.equal(await page.getAttribute(`#notes li:has-text("${text}") a`, 'href'), `/app/notes/${id}`);

  // The deep link is a navigation the app answers 404: the server sends the SPA, which routes.
  const answer = await page.goto(`${server.url}/app/notes/${id}`);
  assert.equal(answer!.status(), 200);
  await page.waitForSelector(`#view[data-ready="/app/notes/${id}"]`);
  assert.equal(await page.textContent('#note'), text);
  assert.equal(await page.title(), `Note ${id} · strata notes`);
  // Client-side routes: the list appears without a page load (the marker survives).
  await page.evaluate(() => Object.assign(window, { samePage: true }));
  await page.click('nav a[href="/app/"]');
  await page.waitForSelector(`#view[data-ready="/app/"] #notes li:has-text("${text}")`);
  assert.equal(new URL(page.url()).pathname, '/app/');
  assert.equal(await page.evaluate(() => (window as { samePage?: boolean }).samePage), true);
  await page.goBack();
  await page.waitForSelector(`#view[data-ready="/app/notes/${id}"]`);

  // A note that does not exist: the SPA says so; a path outside its routes too.
  await page.goto(`${server.url}/app/notes/999999`);
  await page.waitForSelector('#missing:has-text("There is no such note")');
  await page.goto(`${server.url}/app/nowhere`);
  await page.waitForSelector('#missing:has-text("Nothing lives at /app/nowhere")');
  // Outside the SPA's prefix, a navigation gets the app's own 404 page, not the SPA.
  const outside = await page.goto(`${server.url}/nowhere`);
  assert.equal(outside!.status(), 404);
  assert.equal(await page.locator('#view').count(), 0);

  // The API stays the API, even for a browser's navigation.
  const api = await page.goto(`${server.url}/api/notes/${id}`);
  assert.equal(api!.headers()['content-type'], 'application/json');
  assert.equal((await api!.json()).text, text);

  assert.deepEqual(
    // The refused empty note (400), and the missing note the SPA asked the API for (404).
    problems.filter((p) => !/status of (400|404) /.test(p)),
    [],
    'no CSP violation, no script error',
  );
});

test('the CPU button: the server keeps answering while the pool counts primes', {
  skip,
  timeout: 60_000,
}, async () => {
  await using chrome = await launch();
  const page = await chrome.browser.newPage();
  const problems = watch(page);
  await page.goto(`${server.url}/`);
  await page.click('#pool');
  // While the work is still running, the pings keep being answered: the loop is free.
  await page.waitForFunction(
    () =>
      Number(document.getElementById('ticks')!.dataset.count) >= 3 &&
      document.getElementById('cpu')!.dataset.state === 'running',
    undefined,
    { timeout: 30_000 },
  );
  await page.waitForSelector('#cpu[data-state="done"]', { timeout: 30_000 });
  assert.match(
    (await page.textContent('#cpu'))!,
    /^348,513 primes in [\d.]+ s; meanwhile the server answered \d+ pings/,
  );
  assert.deepEqual(problems, [], 'no CSP violation, no script error');
});

test('the banner links to the live dashboard on the admin listener', {
  skip,
  timeout: 60_000,
}, async () => {
  assert.ok(server.adminUrl !== undefined);
  process.env.SHOWCASE_DASHBOARD = `${server.adminUrl}/dashboard`;
  try {
    await using chrome = await launch();
    const page = await chrome.browser.newPage();
    await page.goto(`${server.url}/`);
    await page.click('#banner a');
    await page.waitForURL(`${server.adminUrl}/dashboard`);
    assert.equal(await page.title(), 'strata — live status');
    // The dashboard's stream arrives: the tiles fill in.
    await page.waitForFunction(() => document.getElementById('requests-total')!.textContent !== '—');
  } finally {
    delete process.env.SHOWCASE_DASHBOARD;
  }
});
