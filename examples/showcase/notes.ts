/**
 * The guestbook: notes kept in the showcase's SQLite file (db.ts), so they survive a restart.
 * `GET /api/notes`, `GET /api/notes/:id` and `POST /api/notes`, validated with zod and listed in
 * /openapi.json; the home page and the single-page app at /app/ read them.
 */
import type { DatabaseSync } from 'node:sqlite';
import { z } from 'zod';
import { type App, describeRoute, HttpError, rateLimit, validate } from '../../src/index.ts';
import type { Vars } from './vars.ts';

/** Only the newest notes are kept: a demo's file does not grow without bound. */
const KEEP = 1000;

export const NewNote = z.object({
  author: z.string().trim().min(1).max(40),
  text: z.string().trim().min(1).max(280),
});
export const Note = z.object({
  id: z.number().int(),
  author: z.string(),
  text: z.string(),
  createdAt: z.string(),
});
const NoteList = z.object({ notes: z.array(Note) });
const ListQuery = z.object({ limit: z.coerce.number().int().min(1).max(100).default(20) });
const NoteId = z.object({ id: z.coerce.number().int().min(1).max(Number.MAX_SAFE_INTEGER) });

interface Row {
  id: number;
  author: string;
  text: string;
  created_at: number;
}

const toNote = (row: Row): z.infer<typeof Note> => ({
  id: row.id,
  author: row.author,
  text: row.text,
  createdAt: new Date(row.created_at).toISOString(),
});

/** Adds the notes API over `db` to the app. */
export function addNotes(app: App<Vars>, db: DatabaseSync): void {
  // Prepared once: each request only binds its values.
  const list = db.prepare('SELECT id, author, text, created_at FROM notes ORDER BY id DESC LIMIT ?');
  const one = db.prepare('SELECT id, author, text, created_at FROM notes WHERE id = ?');
  const insert = db.prepare(
    'INSERT INTO notes (author, text, created_at) VALUES (?, ?, ?) RETURNING id, author, text, created_at',
  );
  const trim = db.prepare('DELETE FROM notes WHERE id <= (SELECT max(id) FROM notes) - ?');

  app.get(
    '/api/notes',
    describeRoute({
      summary: 'The guestbook, newest first',
      description: 'Kept in SQLite (`node:sqlite`): the notes survive a restart.',
      tags: ['notes'],
      responses: { 200: NoteList },
    }),
    validate({ query: ListQuery }),
    (c) => c.json({ notes: (list.all(c.valid.query.limit) as unknown as Row[]).map(toNote) }),
  );

  app.get(
    '/api/notes/:id',
    describeRoute({
      summary: 'One note',
      tags: ['notes'],
      responses: { 200: Note, 404: 'No such note' },
    }),
    validate({ params: NoteId }),
    (c) => {
      const row = one.get(c.valid.params.id) as Row | undefined;
      if (row === undefined) throw new HttpError(404, 'No such note', { expose: true });
      return c.json(toNote(row));
    },
  );

  app.post(
    '/api/notes',
    describeRoute({
      summary: 'Sign the guestbook',
      description:
        'An author (1–40 characters) and a text (1–280); anything else answers 400 problem+json. ' +
        'Ten notes a minute per client; the newest 1,000 are kept.',
      tags: ['notes'],
      responses: {
        201: { description: 'The note, with its `Location`', schema: Note },
        429: 'Over the limit: `Retry-After` says when to come back',
      },
    }),
    rateLimit({ limit: 10, window: '1m', name: 'notes' }),
    validate({ body: NewNote }),
    (c) => {
      const row = insert.get(c.body.author, c.body.text, Date.now()) as unknown as Row;
      trim.run(KEEP);
      return c.json(toNote(row), { status: 201, headers: { location: `/api/notes/${row.id}` } });
    },
  );
}
