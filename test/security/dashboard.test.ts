/**
 * The admin listener's access rule: loopback only by default; anywhere else it refuses to start
 * without a token (STRATA_ERR_ADMIN_TOKEN_REQUIRED); with a token, `/metrics` and `/dashboard`
 * answer 401 without it and 200 with it (Bearer or ?token=), compared in constant time.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { type AdminServer, isLoopbackHost, startAdmin } from '../../src/server/admin.ts';
import type { DashboardInput } from '../../src/server/dashboard/index.ts';

const TOKEN = 'a-token-of-thirty-two-characters';

const base = {
  port: 0,
  metrics: async () => 'strata_up 1\n',
  contentType: 'text/plain; version=0.0.4; charset=utf-8',
  dashboard: async (): Promise<DashboardInput> => ({ mode: 'single', healthy: true, processes: [] }),
};

test('isLoopbackHost: 127.0.0.0/8, ::1, localhost; nothing else', () => {
  for (const host of ['127.0.0.1', '127.1.2.3', '::1', '[::1]', 'localhost', '::ffff:127.0.0.1'])
    assert.equal(isLoopbackHost(host), true, host);
  for (const host of [
    '0.0.0.0',
    '::',
    '10.0.0.1',
    '192.168.1.2',
    '::ffff:10.0.0.1',
    'example.com',
    '128.0.0.1',
    '',
  ])
    assert.equal(isLoopbackHost(host), false, host);
});

test('off loopback without a token, or with a short one, the admin listener refuses to start', async () => {
  // Each refusal comes before listen(): no socket is opened on these addresses.
  const saved = process.env.STRATA_ADMIN_TOKEN;
  delete process.env.STRATA_ADMIN_TOKEN;
  try {
    for (const host of ['0.0.0.0', '::', '192.0.2.10'])
      await assert.rejects(startAdmin({ ...base, host }), { code: 'STRATA_ERR_ADMIN_TOKEN_REQUIRED' }, host);
    await assert.rejects(startAdmin({ ...base, host: '0.0.0.0', token: 'short' }), {
      code: 'STRATA_ERR_ADMIN_TOKEN_REQUIRED',
      message: /at least 16/,
    });
    await assert.rejects(startAdmin({ ...base, host: '127.0.0.1', token: 'short' }), {
      code: 'STRATA_ERR_ADMIN_TOKEN_REQUIRED',
    });
  } finally {
    if (saved !== undefined) process.env.STRATA_ADMIN_TOKEN = saved;
  }
});

describe('with a token', () => {
  let admin: AdminServer;
  before(async () => {
    admin = await startAdmin({ ...base, host: '127.0.0.1', token: TOKEN });
  });
  after(() => admin.close());

  test('/metrics, /dashboard and its stream: 401 without the token, 200 with it', async () => {
    for (const path of ['/metrics', '/dashboard', '/dashboard/events']) {
      const none = await fetch(`${admin.url}${path}`);
      assert.equal(none.status, 401, path);
      assert.match(none.headers.get('www-authenticate') ?? '', /^Bearer/);
      await none.body?.cancel();
      for (const wrong of [`${TOKEN.slice(0, -1)}x`, 'x', `${TOKEN}${TOKEN}`, '']) {
        const res = await fetch(`${admin.url}${path}`, { headers: { authorization: `Bearer ${wrong}` } });
        assert.equal(res.status, 401, `${path} with a wrong token of ${wrong.length} characters`);
        await res.body?.cancel();
      }
      const bearer = await fetch(`${admin.url}${path}`, { headers: { authorization: `Bearer ${TOKEN}` } });
      assert.equal(bearer.status, 200, `${path} with Authorization: Bearer`);
      await bearer.body?.cancel();
      const query = await fetch(`${admin.url}${path}?token=${TOKEN}`);
      assert.equal(query.status, 200, `${path} with ?token=`);
      await query.body?.cancel();
    }
    const wrongQuery = await fetch(`${admin.url}/metrics?token=${TOKEN.toUpperCase()}`);
    assert.equal(wrongQuery.status, 401);
  });

  test("/healthz and the page's static files stay open (no data in them)", async () => {
    assert.equal((await fetch(`${admin.url}/healthz`)).status, 200);
    const js = await fetch(`${admin.url}/dashboard/assets/dashboard.js`);
    assert.equal(js.status, 200);
    assert.doesNotMatch(await js.text(), new RegExp(TOKEN), 'the token is not in the files');
  });

  test('the page sends its CSP and no-referrer (the token may sit in its URL)', async () => {
    const res = await fetch(`${admin.url}/dashboard?token=${TOKEN}`);
    assert.match(res.headers.get('content-security-policy') ?? '', /default-src 'none'/);
    assert.equal(res.headers.get('referrer-policy'), 'no-referrer');
    await res.body?.cancel();
  });
});

test('STRATA_ADMIN_TOKEN is the default token', async () => {
  const saved = process.env.STRATA_ADMIN_TOKEN;
  process.env.STRATA_ADMIN_TOKEN = TOKEN;
  try {
    const admin = await startAdmin({ ...base, host: '127.0.0.1' });
    try {
      assert.equal((await fetch(`${admin.url}/metrics`)).status, 401);
      const ok = await fetch(`${admin.url}/metrics`, { headers: { authorization: `bearer ${TOKEN}` } });
      assert.equal(ok.status, 200);
      assert.equal(await ok.text(), 'strata_up 1\n');
    } finally {
      await admin.close();
    }
  } finally {
    if (saved === undefined) delete process.env.STRATA_ADMIN_TOKEN;
    else process.env.STRATA_ADMIN_TOKEN = saved;
  }
});
