/**
 * The showcase's live chat in a real browser: headless Chromium (playwright-core, Debian's
 * chromium), two pages, each sees the other's message. Fails in CI without chromium, skips elsewhere.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { serve } from '../../src/server.ts';
import { chromiumSkip, launchChromium } from '../fixtures/chromium.ts';

// The showcase's SQLite file: one in memory for this process, not the repository's data/showcase.db
// (set before the app is imported: it opens the database as it loads).
process.env.SHOWCASE_DATA = ':memory:';
const { default: showcase } = await import('../../examples/showcase/app.ts');

const skip = chromiumSkip();

test('two browser pages chat through the showcase and each sees the other', {
  skip,
  timeout: 60_000,
}, async () => {
  await using server = await serve(showcase, { port: 0, logger: false });
  await using browser = await launchChromium();
  try {
    const pageA = await browser.newPage();
    const pageB = await browser.newPage();
    for (const [page, name] of [
      [pageA, 'Ada'],
      [pageB, 'Bob'],
    ] as const) {
      await page.goto(`${server.url}/chat`);
      await page.fill('#name', name);
      await page.click('#join button');
      await page.waitForSelector('#state:text("connected")');
    }
    // The SSE clock ticks in the page.
    await pageA.waitForFunction(() =>
      /\d{4}-\d\d-\d\dT/.test(document.getElementById('clock')!.textContent ?? ''),
    );
    await pageA.fill('#text', 'hello from Ada');
    await pageA.click('#send');
    await pageB.waitForSelector('#log li:text("Ada: hello from Ada")');
    await pageB.fill('#text', 'hi Ada, Bob here');
    await pageB.click('#send');
    await pageA.waitForSelector('#log li:text("Bob: hi Ada, Bob here")');
    // Each also sees its own line once, and the other's join.
    assert.equal(await pageA.locator('#log li', { hasText: 'Ada: hello from Ada' }).count(), 1);
    assert.equal(await pageA.locator('#log li', { hasText: 'Bob joined' }).count(), 1);
  } finally {
    await browser.close();
  }
});

test('the chat page, its WebSocket route and the SSE clock, in-process', async () => {
  const page = await showcase.request('/chat');
  assert.equal(page.status, 200);
  assert.match(await page.text(), /<h1>strata chat<\/h1>/);
  const plain = await showcase.request('/chat/ws');
  assert.equal(plain.status, 426);
  const clock = await showcase.request('/api/clock', { headers: { 'last-event-id': '9' } });
  assert.equal(clock.headers.get('content-type'), 'text/event-stream; charset=utf-8');
  const reader = clock.body!.getReader();
  const first = new TextDecoder().decode((await reader.read()).value);
  assert.match(first, /^event: tick\nid: 10\ndata: \{"now":"/);
  await reader.cancel();
});
