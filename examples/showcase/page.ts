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
`;

/** The home page: a tour of what the stack does, each section a live demonstration. */
export function homePage(nonce: string, visitor: Visitor): string {
  const who =
    visitor.user === undefined
      ? `Not signed in. <a href="/login">Log in</a> as <b>alice</b> (admin) or <b>bob</b> (user).`
      : `Signed in as <b>${escapeHtml(visitor.user.name)}</b> (${visitor.user.role}). ${logoutForm(visitor.csrf ?? '')}`;
  return layout(
    'strata showcase',
    nonce,
    `<h1>strata</h1>
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

<h2>API docs</h2>
<p><a href="/docs">Swagger UI</a> over <a href="/openapi.json"><code>/openapi.json</code></a>, an
OpenAPI 3.1 document generated from the routes, their zod schemas and <code>describeRoute()</code>;
its files come from this server.</p>

<h2>Live</h2>
<p><a href="/chat">A chat room</a> over WebSockets, with a server clock over server-sent events.</p>

<h2>Errors</h2>
<p><a href="/api/fail"><code>GET /api/fail</code></a> answers RFC 9457 problem+json;
<a href="/nowhere"><code>/nowhere</code></a> shows the HTML error page browsers get.</p>`,
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
