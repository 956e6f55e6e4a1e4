/**
 * The showcase's identity: two demo users with argon2id password hashes kept in the SQLite
 * file (db.ts, table `users`), a login form that
 * starts a session (a new id at login), a logout button, and an admin page behind
 * `requireRole('admin')`. The forms are protected by `csrf()` with the token kept in the session.
 */
import type { DatabaseSync } from 'node:sqlite';
import { z } from 'zod';
import {
  type App,
  createMiddleware,
  csrf,
  csrfToken,
  describeRoute,
  hashPassword,
  rateLimit,
  requireRole,
  validate,
  verifyPassword,
} from '../../src/index.ts';
import { adminPage, DEMO_USERS, loginPage } from './page.ts';
import type { User, Vars } from './vars.ts';

interface Account extends User {
  hash: string;
}

/**
 * Signs the demo users up once, as a sign-up form would: a user already in the file keeps its
 * hash (no argon2 at every start); the passwords themselves are never stored.
 */
export async function seedUsers(db: DatabaseSync): Promise<void> {
  const known = db.prepare('SELECT 1 FROM users WHERE name = ?');
  // OR IGNORE: under --workers another process may have signed the same user up meanwhile.
  const add = db.prepare('INSERT OR IGNORE INTO users (name, role, hash) VALUES (?, ?, ?)');
  for (const { name, password, role } of DEMO_USERS) {
    if (known.get(name) === undefined) add.run(name, role, await hashPassword(password));
  }
}

/** Puts the session's user on the context as `user`, where `requireRole()` looks for it. */
export const currentUser = createMiddleware<Pick<Vars, 'session' | 'user'>>((c, next) => {
  c.set('user', c.get('session').get('user'));
  return next();
});

/** A page for signed-in users: a visitor is sent to the login form, and comes back after. */
const signedIn = createMiddleware<Pick<Vars, 'user'>>((c, next) => {
  if (c.get('user') === undefined) {
    return c.redirect(`/login?next=${encodeURIComponent(new URL(c.req.url).pathname)}`, 303);
  }
  return next();
});

/** Only a local path is a place to go after login: `//evil.example` or `/\evil` is not. */
function localPath(next: string | undefined): string {
  return next !== undefined && /^\/(?![/\\])/.test(next) ? next : '/';
}

const hidden = describeRoute({ hidden: true }); // pages, not API: left out of /openapi.json

// Unsafe methods from another site are refused (Fetch Metadata, then Origin, then the token).
const forms = csrf({ token: 'session' });

// Guessing passwords is slow: 20 attempts a minute per client address, then 429.
const loginLimit = rateLimit({ limit: 20, window: '1m', name: 'login' });

const LoginForm = z.object({
  username: z.string().max(64),
  password: z.string().max(256),
  next: z.string().max(2048).optional(),
});

/** Adds `/login`, `/logout` and `/admin` (pages), and `GET /api/me`, over the `users` table. */
export function addIdentity(app: App<Vars>, db: DatabaseSync): void {
  const byName = db.prepare('SELECT name, role, hash FROM users WHERE name = ?');
  const all = db.prepare('SELECT name, role, hash FROM users ORDER BY name');

  // Both methods of /login at once (a route's typed chain stops at three middleware before the
  // handler: past that, `c.body` is no longer typed by validate()).
  app.use('/login', hidden);
  app.get('/login', forms, (c) =>
    c.html(loginPage(c.get('cspNonce'), csrfToken(c)!, localPath(c.query.next))),
  );

  app.post('/login', loginLimit, forms, validate({ body: LoginForm }), async (c) => {
    const { username, password, next } = c.body;
    const account = byName.get(username) as Account | undefined;
    // An unknown name still runs a (dummy) hash: the timing does not tell which names exist.
    if (!(await verifyPassword(password, account?.hash)) || account === undefined) {
      const page = loginPage(
        c.get('cspNonce'),
        csrfToken(c)!,
        localPath(next),
        'Wrong username or password.',
      );
      return c.html(page, 401);
    }
    const s = c.get('session');
    await s.regenerate(); // a new session id at every privilege change: no session fixation
    s.set('user', { name: account.name, role: account.role });
    return c.redirect(localPath(next), 303);
  });

  app.post('/logout', hidden, forms, async (c) => {
    await c.get('session').destroy();
    return c.redirect('/', 303);
  });

  app.get('/admin', hidden, forms, signedIn, requireRole('admin'), (c) => {
    const list = all.all() as unknown as Account[];
    const started = new Date(c.get('session').createdAt);
    return c.html(adminPage(c.get('cspNonce'), c.get('user')!, csrfToken(c)!, list, started));
  });

  app.get(
    '/api/me',
    describeRoute({
      summary: 'Who is signed in',
      description: 'The user of the session cookie that `POST /login` sets, or null.',
      tags: ['identity'],
      responses: {
        200: z.object({ user: z.object({ name: z.string(), role: z.enum(['admin', 'user']) }).nullable() }),
      },
    }),
    (c) => c.json({ user: c.get('user') ?? null }),
  );
}
