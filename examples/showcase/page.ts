/**
 * The showcase's pages: plain HTML and a little script against the JSON API. Every page is sent
 * under secureHeaders()' Content-Security-Policy, so an inline script runs only with the
 * response's nonce (`c.get('cspNonce')`), and every form carries csrf()'s token.
 */
import type { User } from './vars.ts';

/** HTML-escapes text for an element's content or a quoted attribute value. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (ch) => `&#${ch.charCodeAt(0)};`);
}

const STYLE = `
  body { font: 16px/1.5 system-ui, sans-serif; max-width: 44rem; margin: 3rem auto; padding: 0 1rem; color: #1d2330; }
  code { background: #eef1f6; padding: .1rem .3rem; border-radius: 4px; }
  pre { background: #eef1f6; padding: 1rem; border-radius: 6px; overflow: auto; }
  form { display: flex; gap: .5rem; }
  form.inline { display: inline; }
  form.stack { flex-direction: column; max-width: 18rem; }
  label { display: flex; flex-direction: column; }
  input, button { font: inherit; padding: .3rem .6rem; }
  table { border-collapse: collapse; }
  th, td { text-align: left; padding: .2rem .8rem .2rem 0; }
  .who { background: #eef1f6; padding: .6rem 1rem; border-radius: 6px; }
  .error { color: #a61b1b; font-weight: 600; }
  meter { width: 8rem; vertical-align: middle; }
  .banner { background: #1d2330; color: #fff; padding: .6rem 1rem; border-radius: 6px; }
  .banner a { color: #9cc3ff; }
  ul.notes { list-style: none; padding: 0; }
  ul.notes li { padding: .3rem 0; border-bottom: 1px solid #e3e7ee; }
  .meta { color: #667; font-size: .85rem; }
  .ticks { font: 600 1.4rem ui-monospace, monospace; min-width: 3ch; display: inline-block; }
  pre.wrap { white-space: pre-wrap; }
`;

function layout(title: string, nonce: string, body: string, script = ''): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${title}</title>
<link rel="icon" href="data:,">
<style>${STYLE}</style>
</head>
<body>
${body}${script === '' ? '' : `\n<script nonce="${nonce}">${script}</script>`}
</body>
</html>
`;
}

function logoutForm(token: string): string {
  return `<form class="inline" method="post" action="/logout"><input type="hidden" name="_csrf" value="${escapeHtml(token)}"><button>Log out</button></form>`;
}

/** Who is signed in, for the home page: the user and the logout form's CSRF token. */
export interface Visitor {
  user: User | undefined;
  csrf: string | undefined;
}

/** What else the home page links to: the admin listener's dashboard. */
export interface Links {
  dashboard: string;
}

const HOME_SCRIPT = `
  const show = (id, value) => { document.getElementById(id).textContent = JSON.stringify(value, null, 2); };
  fetch('/api/status').then((r) => r.json()).then((s) => show('status', s));
  document.getElementById('greet').addEventListener('submit', async (event) => {
    event.preventDefault();
    const name = new FormData(event.target).get('name');
    const res = await fetch('/api/greetings', {
      method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name }),
    });
    show('greeting', { status: res.status, body: await res.json() });
  });
  // The IETF RateLimit fields: RateLimit-Policy: "quote";q=5;w=10 and RateLimit: "quote";r=3;t=4.
  const field = (header, key) => Number(new RegExp(';' + key + '=(\\\\d+)').exec(header ?? '')?.[1]);
  let answers = 0;
  document.getElementById('quote').addEventListener('click', async () => {
    const res = await fetch('/api/quote');
    const body = await res.json();
    const left = field(res.headers.get('ratelimit'), 'r');
    const quota = field(res.headers.get('ratelimit-policy'), 'q');
    const full = field(res.headers.get('ratelimit'), 't');
    document.getElementById('budget').value = left;
    document.getElementById('left').textContent = left + ' of ' + quota + ' left, whole again in ' + full + ' s';
    const quoted = document.getElementById('quoted');
    quoted.textContent = res.status === 429
      ? '429 ' + body.title + ': retry after ' + res.headers.get('retry-after') + ' s'
      : '“' + body.text + '” — ' + body.author;
    quoted.dataset.count = String(++answers);
  });

  // The guestbook, from SQLite: the newest five, and a form that adds one.
  const notes = document.getElementById('notes');
  const showNotes = async () => {
    const { notes: list } = await (await fetch('/api/notes?limit=5')).json();
    notes.replaceChildren(...list.map((n) => {
      const li = document.createElement('li');
      const a = document.createElement('a');
      a.href = '/app/notes/' + n.id;
      a.textContent = '#' + n.id;
      const meta = document.createElement('span');
      meta.className = 'meta';
      meta.textContent = ' — ' + n.author + ', ' + new Date(n.createdAt).toLocaleString();
      li.append(a, ' ', n.text, meta);
      return li;
    }));
    if (list.length === 0) notes.textContent = 'No notes yet.';
    notes.dataset.count = String(list.length);
  };
  showNotes();
  document.getElementById('sign').addEventListener('submit', async (event) => {
    event.preventDefault();
    const form = new FormData(event.target);
    const res = await fetch('/api/notes', {
      method: 'POST', headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ author: form.get('author'), text: form.get('text') }),
    });
    const body = await res.json();
    const said = document.getElementById('signed');
    if (res.status === 201) {
      said.textContent = 'Saved as note #' + body.id + ' (' + res.headers.get('location') + ').';
      event.target.elements.text.value = '';
      await showNotes();
    } else {
      said.textContent = res.status + ' ' + body.title + (body.issues ? ': ' + body.issues.map((i) => i.path + ' ' + i.message).join('; ') : '');
    }
  });

  // CPU work: while the server counts primes, the page keeps asking it for /api/status. On the
  // pool the answers keep coming; inline, the event loop is busy and they stop until it is done.
  let working = false;
  const ticks = document.getElementById('ticks');
  const cpu = document.getElementById('cpu');
  const work = async (path) => {
    if (working) return;
    working = true;
    const limit = 5000000;
    const started = performance.now();
    let pings = 0;
    let slowest = 0;
    let done = false;
    ticks.textContent = '0';
    ticks.dataset.count = '0';
    cpu.textContent = 'Counting the primes below ' + limit.toLocaleString('en') + ' on ' + (path === '/api/primes' ? 'the pool' : 'the event loop') + '…';
    cpu.dataset.state = 'running';
    const pinging = (async () => {
      while (!done) {
        const t0 = performance.now();
        await (await fetch('/api/status')).json();
        slowest = Math.max(slowest, performance.now() - t0);
        ticks.textContent = String(++pings);
        ticks.dataset.count = String(pings);
        await new Promise((r) => setTimeout(r, 100));
      }
    })();
    try {
      const res = await fetch(path + '?limit=' + limit);
      const body = await res.json();
      done = true;
      await pinging;
      const seconds = ((performance.now() - started) / 1000).toFixed(1);
      cpu.textContent = res.status === 200
        ? body.primes.toLocaleString('en') + ' primes in ' + seconds + ' s; meanwhile the server answered ' + pings + ' pings, the slowest in ' + Math.round(slowest) + ' ms.'
        : res.status + ' ' + body.title;
    } finally {
      done = true;
      working = false;
      cpu.dataset.state = 'done';
    }
  };
  document.getElementById('pool').addEventListener('click', () => work('/api/primes'));
  document.getElementById('inline').addEventListener('click', () => work('/api/primes-inline'));
`;

/** The home page: a tour of what the stack does, each section a live demonstration. */
export function homePage(nonce: string, visitor: Visitor, links: Links): string {
  const who =
    visitor.user === undefined
      ? `Not signed in. <a href="/login">Log in</a> as <b>alice</b> (admin) or <b>bob</b> (user).`
      : `Signed in as <b>${escapeHtml(visitor.user.name)}</b> (${visitor.user.role}). ${logoutForm(visitor.csrf ?? '')}`;
  return layout(
    'strata showcase',
    nonce,
    `<p class="banner" id="banner">Watch this server live: <a href="${escapeHtml(links.dashboard)}">the dashboard</a>
on the admin listener — requests, latency, the event loop and the thread pool, second by second.</p>
<h1>strata</h1>
<p>A TypeScript web stack for Node.js: edge server, gateway contract, framework, and the
concurrency around them. This page and its API are one <code>App</code> served by
<code>strata serve</code>.</p>

<h2>Status</h2>
<pre id="status">loading…</pre>

<h2>Validation</h2>
<form id="greet"><input name="name" placeholder="your name" autocomplete="off"><button>Greet</button></form>
<pre id="greeting">Submit a name (or an empty one, to see a problem+json answer).</pre>

<h2>Identity</h2>
<div class="who" id="who">${who}</div>
<p>Passwords are stored as argon2id hashes (<code>hashPassword</code>); the session lives in an
encrypted cookie (<code>session()</code>) and gets a new id at login; forms carry a CSRF token
(<code>csrf()</code>); every answer has <code>secureHeaders()</code>, with a CSP nonce for this
page's script. <a href="/admin">The admin page</a> needs the admin role
(<code>requireRole('admin')</code>): alice sees it, bob gets 403, a visitor is asked to log in.</p>

<h2>Rate limiting</h2>
<p><code>GET /api/quote</code> allows a burst of 5 requests, then one every 2 s
(<code>rateLimit({ limit: 5, window: '10s' })</code>); past that it answers 429 with
<code>Retry-After</code>, and every answer carries the IETF <code>RateLimit</code> headers.</p>
<p><button id="quote">Get a quote</button> <meter id="budget" min="0" max="5" value="5"></meter> <span id="left">5 of 5 left</span></p>
<pre id="quoted">Click a few times quickly.</pre>

<h2 id="notes-title">Guestbook</h2>
<p>Notes are kept in SQLite (<code>node:sqlite</code>, built into Node): the file
<code>data/showcase.db</code> is created and migrated at startup, and the notes survive a restart.
<code>POST /api/notes</code> validates its body with zod; the demo users' hashes live there too.</p>
<form id="sign"><input name="author" placeholder="your name" autocomplete="off" maxlength="40" size="12"><input name="text" placeholder="a note" autocomplete="off" maxlength="280" size="28"><button>Sign</button></form>
<p id="signed" class="meta"></p>
<ul class="notes" id="notes"><li>loading…</li></ul>
<p><a href="/app/">The notes as a single-page app</a>: plain files served by the static server,
with client-side routes — a deep link such as <a href="/app/notes/1"><code>/app/notes/1</code></a>
loads the app, while <code>/api/notes/1</code> stays the API.</p>

<h2>CPU work on a thread pool</h2>
<p>Counting primes by trial division takes the server seconds. On the thread pool
(<code>GET /api/primes</code>) the event loop stays free: the pings below keep being answered.
Inline (<code>GET /api/primes-inline</code>) every other request waits.</p>
<p><button id="pool">Count on the pool</button> <button id="inline">Count inline (blocks the loop)</button>
Pings answered: <span class="ticks" id="ticks" data-count="0">0</span></p>
<pre class="wrap" id="cpu">Press a button, and watch the pings.</pre>

<h2>API docs</h2>
<p><a href="/docs">Swagger UI</a> over <a href="/openapi.json"><code>/openapi.json</code></a>, an
OpenAPI 3.1 document generated from the routes, their zod schemas and <code>describeRoute()</code>;
its files come from this server.</p>

<h2>Live</h2>
<p><a href="/chat">A chat room</a> over WebSockets, with a server clock over server-sent events.</p>

<h2>Errors</h2>
<p><a href="/api/fail"><code>GET /api/fail</code></a> answers RFC 9457 problem+json to an API
client and an HTML error page to a browser; a path no route knows, such as
<a href="/nowhere"><code>/nowhere</code></a>, answers 404 (an HTML page to a browser); under
the single-page app's prefix, <a href="/app/nowhere"><code>/app/nowhere</code></a>, a browser
gets the app (the static <code>spaFallback</code>), which shows its own “Not found”.</p>`,
    HOME_SCRIPT,
  );
}

/** The demo's accounts, shown on the login page: it is a demo, the passwords are public. */
export const DEMO_USERS = [
  { name: 'alice', password: 'wonderland', role: 'admin' },
  { name: 'bob', password: 'builder', role: 'user' },
] as const satisfies readonly { name: string; password: string; role: User['role'] }[];

/** The login form; `error` after a refused attempt, `next` where to go once signed in. */
export function loginPage(nonce: string, csrf: string, next: string, error?: string): string {
  const users = DEMO_USERS.map(
    (u) => `<tr><td><code>${u.name}</code></td><td><code>${u.password}</code></td><td>${u.role}</td></tr>`,
  ).join('');
  return layout(
    'Log in · strata showcase',
    nonce,
    `<h1>Log in</h1>
${error === undefined ? '' : `<p class="error" id="error">${escapeHtml(error)}</p>\n`}<form class="stack" method="post" action="/login">
<input type="hidden" name="_csrf" value="${escapeHtml(csrf)}">
<input type="hidden" name="next" value="${escapeHtml(next)}">
<label>Username <input name="username" autocomplete="username" required maxlength="64"></label>
<label>Password <input name="password" type="password" autocomplete="current-password" required maxlength="256"></label>
<button>Log in</button>
</form>
<p>The demo's users (their passwords are public: this is a demo):</p>
<table><tr><th>user</th><th>password</th><th>role</th></tr>${users}</table>
<p><a href="/">Back</a></p>`,
  );
}

/** The admin page: who may see it, and the stored password hashes (never the passwords). */
export function adminPage(
  nonce: string,
  user: User,
  csrf: string,
  accounts: { name: string; role: string; hash: string }[],
  sessionStarted: Date,
): string {
  const rows = accounts
    .map(
      (a) =>
        `<tr><td>${escapeHtml(a.name)}</td><td>${a.role}</td><td><code>${escapeHtml(a.hash.slice(0, 42))}…</code></td></tr>`,
    )
    .join('');
  return layout(
    'Admin · strata showcase',
    nonce,
    `<h1>Admin</h1>
<div class="who">Signed in as <b>${escapeHtml(user.name)}</b> (${user.role}) since
${sessionStarted.toISOString()}. ${logoutForm(csrf)}</div>
<p>This page is behind <code>requireRole('admin')</code>: a user without the role gets 403, a
visitor who is not signed in is sent to the login form.</p>
<h2>Accounts</h2>
<table><tr><th>user</th><th>role</th><th>stored hash (PHC string)</th></tr>${rows}</table>
<p><a href="/">Back</a></p>`,
  );
}
