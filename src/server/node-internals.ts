import type { ServerResponse } from 'node:http';
import type { Socket } from 'node:net';

/**
 * Every private field of node's http objects the server reads or writes, in this one file, each
 * with the node version it was checked against. test/server/node-internals.test.ts fails if
 * node changes one of them (the test runs on the pinned node of package.json).
 *
 * Checked against node 24.21.0 (lib/_http_server.js, lib/_http_outgoing.js, lib/net.js).
 */

/** The parts of node's TCP handle (libuv's `uv_tcp_t` wrapper) read here. */
export interface StreamHandle {
  /** The socket's file descriptor (sendfile's out fd). */
  fd: number;
  /** Bytes libuv still has queued to write. */
  writeQueueSize: number;
}

type Internal = {
  /** Socket: the ServerResponse that owns it now (node 24: `socket._httpMessage`, set by assignSocket). */
  _httpMessage?: ServerResponse | null;
  /** ServerResponse: the timeout its `Keep-Alive` header names (node 24: set in parserOnIncoming). */
  _keepAliveTimeout?: number;
  /** ServerResponse: the `max=` of its `Keep-Alive` header (node 24: set in parserOnIncoming). */
  _maxRequestsPerSocket?: number;
  /** ServerResponse: true once it decided to close the connection after it (node 24: `_last`). */
  _last?: boolean;
  /** ServerResponse: true once it emitted 'close' (node 24: guards emitCloseNT). */
  _closed?: boolean;
  /** Socket: its libuv handle, null once destroyed (node 24: lib/net.js `this._handle`). */
  _handle?: StreamHandle | null;
};

/**
 * The response a socket is writing (node's `socket._httpMessage`), or null. No public API says
 * whether a connection has a response under way; the drain needs it to tell idle connections
 * from busy ones, CONNECT and clientError to wait for or spare that response.
 */
export function currentResponse(socket: Socket): ServerResponse | null {
  return (socket as Socket & Internal)._httpMessage ?? null;
}

/**
 * What node's server sets on each response it makes (`parserOnIncoming`), for a response the fast
 * lane makes itself: its `Keep-Alive: timeout=…, max=…` header.
 */
export function setKeepAliveHeader(res: ServerResponse, keepAliveTimeout: number, maxRequests: number): void {
  const internal = res as ServerResponse & Internal;
  internal._keepAliveTimeout = keepAliveTimeout;
  internal._maxRequestsPerSocket = maxRequests;
}

/** Whether node decided to close the connection after this response (`Connection: close` sent). */
export function closesConnection(res: ServerResponse): boolean {
  return (res as ServerResponse & Internal)._last === true;
}

/**
 * Emits a response's 'close' once, as node's own emitCloseNT does (its `_closed` guard), for a
 * response the fast lane detached from its socket after it finished.
 */
export function emitCloseOnce(res: ServerResponse): void {
  const internal = res as ServerResponse & Internal;
  if (internal._closed === true) return;
  internal._closed = true;
  res.destroyed = true;
  res.emit('close');
}

/**
 * The socket's libuv handle (node's `socket._handle`, null once destroyed): its fd and write
 * queue, for sendfile(2), which no public API allows on a socket.
 */
export function socketHandle(socket: Socket): StreamHandle | null {
  return (socket as Socket & Internal)._handle ?? null;
}

/**
 * The TCP socket under a server-side TLS socket (node's `tlsSocket._parent`, set by
 * tls.Server's connection listener): the connection guard counts TCP connections as they are
 * accepted, before any handshake, and must find the connection again once it is secure. No public
 * API links the two (checked against node 24.21.0, lib/_tls_wrap.js).
 */
export function tlsParent(socket: Socket): Socket | null {
  return (socket as Socket & { _parent?: Socket | null })._parent ?? null;
}
