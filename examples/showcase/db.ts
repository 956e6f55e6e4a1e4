/**
 * The showcase's storage: one SQLite file through `node:sqlite` (built into Node 24, nothing to
 * install), by default `data/showcase.db` under the repository, created with its directory on
 * first start. `SHOWCASE_DATA` moves it (a file path, or `:memory:` for a database that lives as
 * long as the process).
 *
 * The schema is a short ordered list of migrations applied at startup in one transaction, with
 * the version reached kept in `schema_version`: starting again applies nothing, an older file is
 * brought up to date, and a failing step leaves the file as it was. Under `--workers` every
 * worker opens the same file: WAL lets readers go on while one writes, `busy_timeout` makes a
 * writer wait for the lock instead of failing, and the migration takes the write lock first
 * (`BEGIN IMMEDIATE`), so two workers starting together migrate once.
 */
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { fileURLToPath } from 'node:url';

/** `data/showcase.db` at the root of the repository (gitignored), whatever the cwd. */
export const DEFAULT_DATA = fileURLToPath(new URL('../../data/showcase.db', import.meta.url));

/** Where the database lives: `SHOWCASE_DATA`, else {@link DEFAULT_DATA}. */
export function dataPath(env: NodeJS.ProcessEnv = process.env): string {
  const path = env.SHOWCASE_DATA;
  return path === undefined || path === '' ? DEFAULT_DATA : path;
}

/**
 * The schema, in order: migration `n` (1-based) takes the file from version `n - 1` to `n`.
 * Append only — a migration that has shipped is never edited, since files out there have it.
 */
export const MIGRATIONS: readonly string[] = [
  // 1: the accounts, with their argon2id hashes (PHC strings), never the passwords.
  `CREATE TABLE users (
     name TEXT PRIMARY KEY,
     role TEXT NOT NULL CHECK (role IN ('admin', 'user')),
     hash TEXT NOT NULL
   )`,
  // 2: the guestbook.
  `CREATE TABLE notes (
     id INTEGER PRIMARY KEY AUTOINCREMENT,
     author TEXT NOT NULL,
     text TEXT NOT NULL
   )`,
  // 3: when each note was written (milliseconds since the epoch, UTC); older rows get 0.
  `ALTER TABLE notes ADD COLUMN created_at INTEGER NOT NULL DEFAULT 0`,
];

/** How long a writer waits for another process's lock before giving up (SQLITE_BUSY). */
const BUSY_TIMEOUT_MS = 5000;

/** Opens (creating if need be) the database at `path` and brings its schema up to date. */
export function openDatabase(path: string = dataPath()): DatabaseSync {
  const memory = path === ':memory:';
  if (!memory) mkdirSync(dirname(path), { recursive: true });
  const db = new DatabaseSync(path, { timeout: BUSY_TIMEOUT_MS });
  try {
    db.exec(`PRAGMA busy_timeout = ${BUSY_TIMEOUT_MS}`);
    // Readers never wait for the writer, and a commit is one append: several processes share it.
    if (!memory) db.exec('PRAGMA journal_mode = WAL');
    db.exec('PRAGMA synchronous = NORMAL'); // durable at each checkpoint; safe with WAL
    db.exec('PRAGMA foreign_keys = ON');
    migrate(db);
  } catch (err) {
    db.close();
    throw err;
  }
  return db;
}

/** The version a database is at: the number of migrations applied to it (0 for a new one). */
export function schemaVersion(db: DatabaseSync): number {
  const table = db
    .prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_version'")
    .get();
  if (table === undefined) return 0;
  const row = db.prepare('SELECT version FROM schema_version WHERE id = 1').get() as
    | { version: number }
    | undefined;
  return row?.version ?? 0;
}

/**
 * Applies the migrations the database does not have yet, all in one transaction: either the
 * file reaches the last version, or it stays where it was. Returns the versions before and after.
 */
export function migrate(
  db: DatabaseSync,
  migrations: readonly string[] = MIGRATIONS,
): { from: number; to: number } {
  // IMMEDIATE: the write lock first, then the version is read — a second process waits here
  // (busy_timeout) and then finds nothing left to do.
  db.exec('BEGIN IMMEDIATE');
  try {
    db.exec(`CREATE TABLE IF NOT EXISTS schema_version (
               id INTEGER PRIMARY KEY CHECK (id = 1),
               version INTEGER NOT NULL
             )`);
    const from = schemaVersion(db);
    if (from > migrations.length) {
      throw new Error(
        `the database is at schema version ${from}, newer than this code (${migrations.length}): run the newer code`,
      );
    }
    for (let v = from; v < migrations.length; v++) db.exec(migrations[v]!);
    if (migrations.length !== from) {
      db.prepare(
        'INSERT INTO schema_version (id, version) VALUES (1, ?) ON CONFLICT (id) DO UPDATE SET version = excluded.version',
      ).run(migrations.length);
    }
    db.exec('COMMIT');
    return { from, to: migrations.length };
  } catch (err) {
    db.exec('ROLLBACK');
    throw err;
  }
}
