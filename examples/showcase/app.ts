/**
 * The strata showcase: what `npm start` runs. For now a page and a JSON endpoint on the bare
 * gateway contract (an object with `fetch`); later issues grow it into the full demonstration.
 */
import type { App, ServeInfo } from '../../src/gateway/index.ts';

const startedAt = new Date();

const page = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>strata showcase</title>
<style>
  body { font: 16px/1.5 system-ui, sans-serif; max-width: 42rem; margin: 3rem auto; padding: 0 1rem; color: #1d2330; }
  code { background: #eef1f6; padding: .1rem .3rem; border-radius: 4px; }
  pre { background: #eef1f6; padding: 1rem; border-radius: 6px; overflow: auto; }
</style>
</head>
<body>
<h1>strata</h1>
<p>A TypeScript web stack for Node.js: edge server, gateway contract, framework, and the
concurrency around them.</p>
<p>This page is served by a bare <code>fetch</code> app through strata's Node gateway.
Try the JSON endpoint: <a href="/api/status"><code>/api/status</code></a>.</p>
<pre id="status">loading…</pre>
<script>
  fetch('/api/status').then((r) => r.json()).then((s) => {
    document.getElementById('status').textContent = JSON.stringify(s, null, 2);
  });
</script>
</body>
</html>
`;

const app: App = {
  fetch(request: Request, info: ServeInfo): Response {
    const url = new URL(request.url);
    if (url.pathname === '/') {
      return new Response(page, {
        headers: { 'content-type': 'text/html; charset=utf-8' },
      });
    }
    if (url.pathname === '/api/status') {
      return Response.json({
        name: 'strata showcase',
        startedAt: startedAt.toISOString(),
        uptimeSeconds: Math.round(process.uptime()),
        node: process.version,
        protocol: info.protocol,
        client: info.remote.address,
      });
    }
    return Response.json({ error: 'not found', path: url.pathname }, { status: 404 });
  },
};

export default app;
