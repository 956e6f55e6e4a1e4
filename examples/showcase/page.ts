/** The showcase's single page: plain HTML and a little script against the JSON API. */
export const page = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>strata showcase</title>
<style>
  body { font: 16px/1.5 system-ui, sans-serif; max-width: 44rem; margin: 3rem auto; padding: 0 1rem; color: #1d2330; }
  code { background: #eef1f6; padding: .1rem .3rem; border-radius: 4px; }
  pre { background: #eef1f6; padding: 1rem; border-radius: 6px; overflow: auto; }
  form { display: flex; gap: .5rem; }
  input, button { font: inherit; padding: .3rem .6rem; }
</style>
</head>
<body>
<h1>strata</h1>
<p>A TypeScript web stack for Node.js: edge server, gateway contract, framework, and the
concurrency around them. This page and its API are one <code>App</code> served by
<code>strata serve</code>.</p>

<h2>Status</h2>
<pre id="status">loading…</pre>

<h2>Validation</h2>
<form id="greet"><input name="name" placeholder="your name" autocomplete="off"><button>Greet</button></form>
<pre id="greeting">Submit a name (or an empty one, to see a problem+json answer).</pre>

<h2>Live</h2>
<p><a href="/chat">A chat room</a> over WebSockets, with a server clock over server-sent events.</p>

<h2>Errors</h2>
<p><a href="/api/fail"><code>GET /api/fail</code></a> answers RFC 9457 problem+json;
<a href="/nowhere"><code>/nowhere</code></a> shows the HTML error page browsers get.</p>

<script>
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
</script>
</body>
</html>
`;
