/**
 * Compression at the edge: a JSON report and a server-sent event stream, compressed by the
 * server (zstd, br, gzip or deflate, as the client accepts), the stream flushed event by event.
 *
 *   npx node src/cli/main.ts serve examples/compression/app.ts --compress   # from the repository's root
 *   curl -s --compressed -D - http://127.0.0.1:3000/report -o /dev/null   # content-encoding: …
 *   curl -sN -H 'accept-encoding: gzip' http://127.0.0.1:3000/events | gunzip   # one tick a second
 *
 * The app itself knows nothing about compression: it runs the same on Bun or Deno.
 */
import { App } from '../../src/index.ts';

const app = new App();

app.get('/report', (c) =>
  c.json({
    generated: new Date().toISOString(),
    rows: Array.from({ length: 200 }, (_, i) => ({
      id: i,
      region: ['north', 'south'][i % 2],
      total: i * 17,
    })),
  }),
);

/** Ticks once a second, `count` times (default 10); each event reaches the client as it is sent. */
app.get('/events', (c) => {
  const count = Math.min(Number(c.query.count ?? 10) || 10, 100);
  const interval = Math.min(Number(c.query.interval ?? 1000) || 1000, 10_000);
  const encoder = new TextEncoder();
  let sent = 0;
  let timer: NodeJS.Timeout | undefined;
  const stream = new ReadableStream<Uint8Array>({
    start(controller) {
      const tick = (): void => {
        controller.enqueue(encoder.encode(`id: ${sent}\ndata: ${JSON.stringify({ tick: sent })}\n\n`));
        sent += 1;
        if (sent === count) controller.close();
        else timer = setTimeout(tick, interval);
      };
      tick();
    },
    cancel() {
      clearTimeout(timer);
    },
  });
  return new Response(stream, {
    headers: { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' },
  });
});

export default app;
