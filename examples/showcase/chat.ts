/**
 * The showcase's live feature: a chat room over WebSockets (rooms through `ws.publish`, so it
 * works across workers and instances with the cluster or Redis broker) and a server clock over
 * server-sent events.
 */
import { z } from 'zod';
import { type App, describeRoute } from '../../src/index.ts';
import type { Vars } from './vars.ts';

const MAX_TEXT = 500;
const MAX_NAME = 40;

const hidden = describeRoute({ hidden: true }); // a page and a WebSocket: not in /openapi.json

interface ChatSocket {
  name: string;
}

/** Adds `/chat` (the page), `/chat/ws` (the room) and `/api/clock` (SSE) to the app. */
export function addChat(app: App<Vars>): void {
  // The page's inline script runs under secureHeaders()' CSP with this response's nonce.
  app.get('/chat', hidden, (c) => c.html(chatPage(c.get('cspNonce'))));

  app.get('/chat/ws', hidden, (c) => {
    const name = (c.query.name ?? '').trim().slice(0, MAX_NAME) || 'anonymous';
    return c.upgrade<ChatSocket>(
      {
        open(ws) {
          ws.subscribe('chat');
          ws.publish('chat', JSON.stringify({ kind: 'join', name: ws.data.name }));
          ws.send(JSON.stringify({ kind: 'welcome', online: app.subscriberCount('chat') }));
        },
        message(ws, data) {
          if (typeof data !== 'string') return;
          const text = data.trim().slice(0, MAX_TEXT);
          if (text === '') return;
          const line = JSON.stringify({
            kind: 'message',
            name: ws.data.name,
            text,
            at: new Date().toISOString(),
          });
          ws.send(line);
          ws.publish('chat', line);
        },
        close(ws) {
          app.publish('chat', JSON.stringify({ kind: 'leave', name: ws.data.name }));
        },
      },
      { data: { name } },
    );
  });

  app.get(
    '/api/clock',
    describeRoute({
      summary: 'A server clock over server-sent events',
      description: 'A `tick` event every second; `Last-Event-ID` resumes the count.',
      tags: ['live'],
      // A content type is listed with a schema only: the stream is text.
      responses: {
        200: { description: 'An event stream', contentType: 'text/event-stream', schema: z.string() },
      },
    }),
    (c) =>
      c.sse(async (stream) => {
        let id = Number(stream.lastEventId ?? 0);
        while (!stream.closed) {
          id += 1;
          await stream.send({ event: 'tick', id: String(id), data: { now: new Date().toISOString() } });
          await stream.sleep(1000);
        }
      }),
  );
}

const chatPage = (nonce: string): string => `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>strata chat</title>
<link rel="icon" href="data:,">
<style>
  body { font: 16px/1.5 system-ui, sans-serif; max-width: 44rem; margin: 3rem auto; padding: 0 1rem; color: #1d2330; }
  #log { list-style: none; padding: 1rem; background: #eef1f6; border-radius: 6px; min-height: 12rem; }
  #log .system { color: #667; font-style: italic; }
  form { display: flex; gap: .5rem; }
  input, button { font: inherit; padding: .3rem .6rem; }
  #text { flex: 1; }
</style>
</head>
<body>
<h1>strata chat</h1>
<p>WebSockets with rooms (<code>ws.subscribe</code> / <code>ws.publish</code>); the clock below is
server-sent events (<code>c.sse</code>). <a href="/">Back</a></p>
<p>Server time: <span id="clock">…</span> · <span id="state">connecting…</span></p>
<form id="join"><input id="name" placeholder="your name" autocomplete="off" maxlength="40"><button>Join</button></form>
<ul id="log"></ul>
<form id="say"><input id="text" placeholder="message" autocomplete="off" maxlength="500" disabled><button id="send" disabled>Send</button></form>
<script nonce="${nonce}">
  const log = document.getElementById('log');
  const add = (text, system) => {
    const li = document.createElement('li');
    li.textContent = text;
    if (system) li.className = 'system';
    log.append(li);
  };
  new EventSource('/api/clock').addEventListener('tick', (e) => {
    document.getElementById('clock').textContent = JSON.parse(e.data).now;
  });
  let ws;
  document.getElementById('join').addEventListener('submit', (event) => {
    event.preventDefault();
    const name = document.getElementById('name').value;
    const url = new URL('/chat/ws', location.href);
    url.protocol = location.protocol === 'https:' ? 'wss:' : 'ws:';
    url.searchParams.set('name', name);
    ws = new WebSocket(url);
    ws.onopen = () => {
      document.getElementById('state').textContent = 'connected';
      document.getElementById('text').disabled = false;
      document.getElementById('send').disabled = false;
    };
    ws.onclose = (e) => { document.getElementById('state').textContent = 'disconnected (' + e.code + ')'; };
    ws.onmessage = (e) => {
      const m = JSON.parse(e.data);
      if (m.kind === 'message') add(m.name + ': ' + m.text);
      else if (m.kind === 'join') add(m.name + ' joined', true);
      else if (m.kind === 'leave') add(m.name + ' left', true);
      else if (m.kind === 'welcome') add('welcome, ' + m.online + ' online', true);
    };
  });
  document.getElementById('say').addEventListener('submit', (event) => {
    event.preventDefault();
    const input = document.getElementById('text');
    if (ws && ws.readyState === 1 && input.value.trim() !== '') ws.send(input.value);
    input.value = '';
  });
</script>
</body>
</html>
`;
