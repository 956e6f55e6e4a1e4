/**
 * Type tests for WebSockets and SSE: must type-check; `@ts-expect-error` lines must be errors.
 * Never executed.
 */
import { App, type ServerWebSocket, type WebSocketMessage } from '../../src/index.ts';

type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
function expectType<T extends true>(_: T): void {}

const app = new App<{ user: string }>();

app.get('/chat/:room', (c) =>
  c.upgrade<{ user: string; joined: number }>(
    {
      open(ws) {
        expectType<Equal<typeof ws, ServerWebSocket<{ user: string; joined: number }>>>(true);
        ws.subscribe(c.params.room);
        const user: string = ws.data.user;
        // @ts-expect-error -- not in the socket's data
        ws.data.nope;
        ws.send(`hi ${user}`);
      },
      message(ws, data) {
        expectType<Equal<typeof data, WebSocketMessage>>(true);
        ws.publish(c.params.room, data);
        const n: number = ws.send(new Uint8Array(2));
        return void n;
      },
      close(_ws, code, reason) {
        expectType<Equal<typeof code, number>>(true);
        expectType<Equal<typeof reason, string>>(true);
      },
    },
    { data: { user: c.get('user'), joined: Date.now() }, protocols: ['chat.v1'] },
  ),
);

app.get('/bad', (c) =>
  c.upgrade<{ user: string }>(
    { message() {} },
    // @ts-expect-error -- data must match the socket's type
    { data: { user: 42 } },
  ),
);

// @ts-expect-error -- message is required
app.get('/no-message', (c) => c.upgrade({ open() {} }));

app.get('/events', (c) =>
  c.sse(async (stream) => {
    const last: string | undefined = stream.lastEventId;
    await stream.send({ event: 'e', id: last ?? '1', data: { ok: true }, retry: 1000 });
    // @ts-expect-error -- retry is a number of ms
    await stream.send({ data: 'x', retry: '1s' });
  }),
);

app.publish('room', 'text');
app.publish('room', new Uint8Array(1));
// @ts-expect-error -- not a message
app.publish('room', { not: 'bytes' });
