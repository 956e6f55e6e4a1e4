/**
 * The showcase's SQLite storage (examples/showcase/db.ts): the data file and its directory are
 * created on demand, the migrations run at startup in one transaction and are idempotent, an old
 * file is brought up to date with its rows kept, a failing step changes nothing, two processes
 * can share the file (WAL, busy_timeout), and `npm start`'s config serves the notes, the
 * single-page app and the dashboard from a fresh data directory.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { after, describe, test } from 'node:test';
import {
  DEFAULT_DATA,
  dataPath,
  MIGRATIONS,
  migrate,
  openDatabase,
  schemaVersion,
} from '../../examples/showcase/db.ts';
import { ROOT, startCli, stopCli } from '../fixtures/cli.ts';
import { freePort } from '../fixtures/ports.ts';

const dir = mkdtempSync(join(tmpdir(), 'strata-showcase-db-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const tables = (db: DatabaseSync): string[] =>
  (
    db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").all() as {
      name: string;
    }[]
  )
    .map((t) => t.name)
    .filter((name) => !name.startsWith('sqlite_'));

describe('the showcase database', () => {
  test('the file lives in data/ under the repository unless SHOWCASE_DATA moves it', () => {
    assert.equal(DEFAULT_DATA, join(ROOT, 'data', 'showcase.db'));
    assert.equal(dataPath({}), DEFAULT_DATA);
    assert.equal(dataPath({ SHOWCASE_DATA: '' }), DEFAULT_DATA);
    assert.equal(dataPath({ SHOWCASE_DATA: ':memory:' }), ':memory:');
    assert.equal(dataPath({ SHOWCASE_DATA: '/srv/notes.db' }), '/srv/notes.db');
  });

  test('a missing directory is created, the schema migrated, the journal in WAL mode', () => {
    const path = join(dir, 'fresh', 'nested', 'showcase.db');
    const db = openDatabase(path);
    try {
      assert.ok(existsSync(path));
      assert.equal(schemaVersion(db), MIGRATIONS.length);
      assert.deepEqual(tables(db), ['notes', 'schema_version', 'users']);
      assert.equal((db.prepare('PRAGMA journal_mode').get() as { journal_mode: string }).journal_mode, 'wal');
      assert.equal((db.prepare('PRAGMA busy_timeout').get() as { timeout: number }).timeout, 5000);
    } finally {
      db.close();
    }
  });

  test('migrating twice applies nothing the second time; the rows stay', () => {
    const db = new DatabaseSync(':memory:');
    assert.deepEqual(migrate(db), { from: 0, to: MIGRATIONS.length });
    db.prepare('INSERT INTO notes (author, text, created_at) VALUES (?, ?, ?)').run('Ada', 'kept', 1);
    assert.deepEqual(migrate(db), { from: MIGRATIONS.length, to: MIGRATIONS.length });
    assert.deepEqual(migrate(db), { from: MIGRATIONS.length, to: MIGRATIONS.length });
    assert.equal((db.prepare('SELECT count(*) AS n FROM schema_version').get() as { n: number }).n, 1);
    assert.deepEqual(
      { ...db.prepare('SELECT author, text FROM notes').get() },
      { author: 'Ada', text: 'kept' },
    );
    db.close();
  });

  test('a file at an old version is brought up to date, its rows kept', () => {
    const path = join(dir, 'old.db');
    // The file as the code of version 2 left it: notes without created_at.
    const old = new DatabaseSync(path);
    assert.deepEqual(migrate(old, MIGRATIONS.slice(0, 2)), { from: 0, to: 2 });
    old.prepare('INSERT INTO notes (author, text) VALUES (?, ?)').run('Grace', 'from version 2');
    old.close();

    const db = openDatabase(path);
    try {
      assert.equal(schemaVersion(db), MIGRATIONS.length);
      assert.deepEqual(
        { ...db.prepare('SELECT author, text, created_at FROM notes').get() },
        { author: 'Grace', text: 'from version 2', created_at: 0 },
      );
    } finally {
      db.close();
    }
  });

  test('a failing migration rolls back the whole step: no table, no version change', () => {
    const db = new DatabaseSync(':memory:');
    migrate(db, MIGRATIONS.slice(0, 1));
    assert.throws(
      () => migrate(db, [...MIGRATIONS, 'CREATE TABLE half (x INTEGER)', 'THIS IS NOT SQL']),
      /syntax error/,
    );
    assert.equal(schemaVersion(db), 1);
    assert.deepEqual(tables(db), ['schema_version', 'users'], 'nothing of the failed run is left');
    assert.equal(db.isTransaction, false);
    db.close();
  });

  test('a file newer than the code is refused, not downgraded', () => {
    const db = new DatabaseSync(':memory:');
    migrate(db);
    assert.throws(() => migrate(db, MIGRATIONS.slice(0, 1)), /newer than this code/);
    assert.equal(schemaVersion(db), MIGRATIONS.length);
    db.close();
  });

  test('two connections (two workers) share the file: both migrate, a write is seen by the other', () => {
    const path = join(dir, 'shared', 'showcase.db');
    const a = openDatabase(path);
    const b = openDatabase(path);
    try {
      assert.equal(schemaVersion(b), MIGRATIONS.length);
      a.prepare('INSERT INTO notes (author, text, created_at) VALUES (?, ?, ?)').run('a', 'from a', 2);
      assert.deepEqual({ ...b.prepare('SELECT text FROM notes').get() }, { text: 'from a' });
      // A writer holding the lock makes the other wait (busy_timeout), then fail only past it.
      a.exec('BEGIN IMMEDIATE');
      const c = new DatabaseSync(path, { timeout: 50 });
      assert.throws(() => c.exec('BEGIN IMMEDIATE'), /locked/);
      c.close();
      a.exec('COMMIT');
    } finally {
      a.close();
      b.close();
    }
  });
});

describe('npm start (examples/showcase/strata.config.ts)', () => {
  test('a fresh data directory, the notes, a deep link of the SPA and the dashboard', {
    timeout: 30_000,
  }, async () => {
    const data = join(dir, 'start', 'data', 'showcase.db');
    const adminPort = await freePort();
    const cli = await startCli(
      ['--config', 'examples/showcase/strata.config.ts', '--admin', `127.0.0.1:${adminPort}`],
      { SHOWCASE_DATA: data, SHOWCASE_DASHBOARD: '' },
    );
    try {
      assert.ok(existsSync(data), 'the data file is created at startup');
      const post = await fetch(`${cli.url}/api/notes`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ author: 'Ada', text: 'persisted' }),
      });
      assert.equal(post.status, 201);
      const { id } = await post.json();

      // A browser's navigation to a deep link gets the single-page app...
      const deep = await fetch(`${cli.url}/app/notes/${id}`, { headers: { accept: 'text/html' } });
      assert.equal(deep.status, 200);
      assert.match(await deep.text(), /<script type="module" src="\/app\/app.js"><\/script>/);
      assert.equal(
        (await fetch(`${cli.url}/app/app.js`)).headers.get('content-type'),
        'text/javascript; charset=utf-8',
      );
      // ...while the API keeps its own answers, and its 404 for an API call.
      assert.equal((await (await fetch(`${cli.url}/api/notes/${id}`)).json()).text, 'persisted');
      const missing = await fetch(`${cli.url}/api/notes/999999`);
      assert.equal(missing.status, 404);
      assert.equal(missing.headers.get('content-type'), 'application/problem+json');
      const lost = await fetch(`${cli.url}/app/nothing.js`);
      assert.equal(lost.status, 404, 'a missing asset is not the page');

      // The home page's banner and the admin listener's dashboard.
      const home = await (await fetch(cli.url)).text();
      assert.match(home, /<p class="banner" id="banner">.*<a href="http:\/\/127\.0\.0\.1:9100\/dashboard">/s);
      const dashboard = await fetch(`http://127.0.0.1:${adminPort}/dashboard`);
      assert.equal(dashboard.status, 200);
      assert.match(await dashboard.text(), /<title>[^<]*strata/i);
    } finally {
      assert.equal(await stopCli(cli.child), 0);
    }
    // Started again on the same file: the note is still there, nothing migrated twice.
    const again = await startCli(
      ['--config', 'examples/showcase/strata.config.ts', '--admin', `127.0.0.1:${await freePort()}`],
      { SHOWCASE_DATA: data },
    );
    try {
      const { notes } = await (await fetch(`${again.url}/api/notes`)).json();
      assert.deepEqual(
        notes.map((n: { text: string }) => n.text),
        ['persisted'],
      );
    } finally {
      await stopCli(again.child);
    }
  });
});
