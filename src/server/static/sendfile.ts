/**
 * sendfile(2) for large static files: the kernel copies file pages to the socket, as nginx's
 * `sendfile on` does, instead of reading chunks into JS buffers through libuv's thread pool and
 * writing them back. Node has no sendfile for sockets, so a small N-API addon
 * (`native/sendfile/`, built at install time) makes the one non-blocking call; without it every
 * file is streamed (static-files.ts), with the same bytes.
 */
import { closeSync, readSync } from 'node:fs';
import type { ServerResponse } from 'node:http';
import { createRequire } from 'node:module';
import type { Socket } from 'node:net';
import { countBodyBytes } from '../logged-response.ts';
import { socketHandle } from '../node-internals.ts';

interface SendfileBinding {
  /** Bytes written (>= 0), or minus the errno (`-EAGAIN` when the socket buffer is full). */
  sendfile(outFd: number, inFd: number, offset: number, length: number): number;
  EAGAIN: number;
}

function loadBinding(): SendfileBinding | undefined {
  if (process.platform !== 'linux') return undefined;
  try {
    // src/server/static/ and dist/server/static/ both sit three levels below the package root.
    return createRequire(import.meta.url)('../../../native/sendfile/build/Release/sendfile.node');
  } catch {
    return undefined;
  }
}

const binding = loadBinding();

/** Whether the sendfile addon is loaded (built at install time, Linux only). */
export const sendfileAvailable: boolean = binding !== undefined;

/**
 * Whether a response on this socket can go out with sendfile: the addon is loaded and the socket
 * is a plain (not TLS) stream with a file descriptor. HTTP/2 and TLS take the stream path.
 */
export function canSendfile(socket: Socket | null): boolean {
  if (binding === undefined || socket === null || (socket as { encrypted?: boolean }).encrypted === true)
    return false;
  const handle = socketHandle(socket);
  return handle !== null && typeof handle.fd === 'number' && handle.fd >= 0;
}

/**
 * One response body, `length` bytes of `fd` from `start`, after a head that `res.writeHead()`
 * has prepared. Owns `fd` and closes it however the transfer ends.
 *
 * Order on the wire: the head goes first through node (`flushHeaders`); file bytes go with
 * sendfile only once node's write queue is empty. When the socket buffer is full (EAGAIN: a slow
 * reader), the next single byte of the file is written through `socket.write()`: libuv then
 * waits for writability, without a thread and without spinning, and its callback resumes
 * sendfile one byte further on. The same one-byte write orders the file behind a head that is
 * still queued. At the end `res.end()` writes nothing (the length was declared), so node sees a
 * complete response and keep-alive and pipelining go on. A file that ends early (truncated while
 * being sent) or a failed send ends the connection: never fewer bytes than Content-Length said
 * on a connection that stays open.
 */
export class SendfileTransfer {
  #res: ServerResponse;
  #socket: Socket | null = null;
  #fd: number;
  #pos: number;
  #end: number;
  #byte: Buffer | undefined = undefined;
  #done = false;
  #afterByte: (error?: Error | null) => void;
  #onClose: () => void;

  constructor(res: ServerResponse, fd: number, start: number, length: number) {
    this.#res = res;
    this.#fd = fd;
    this.#pos = start;
    this.#end = start + length;
    this.#afterByte = (error) => this.#resume(error);
    this.#onClose = () => this.#release();
    res.once('close', this.#onClose);
  }

  /** Sends the head, then the file. A pipelined response waits until node gives it the socket. */
  start(): void {
    if (this.#res.socket === null) this.#res.once('socket', () => this.#begin());
    else this.#begin();
  }

  #begin(): void {
    const res = this.#res;
    const socket = res.socket;
    if (this.#done || socket === null || socket.destroyed) {
      this.#abort();
      return;
    }
    this.#socket = socket;
    res.flushHeaders();
    const handle = socketHandle(socket);
    if (handle === null) this.#abort();
    else if (this.#pos === this.#end) this.#complete();
    else if (socket.writableLength === 0 && handle.writeQueueSize === 0) this.#pump();
    else this.#writeOneByte();
  }

  #pump(): void {
    const socket = this.#socket!;
    for (;;) {
      // Checked before every call: a destroyed socket's fd number may already belong to another file.
      const handle = socketHandle(socket);
      if (socket.destroyed || handle === null) {
        this.#abort();
        return;
      }
      const want = this.#end - this.#pos;
      const n = binding!.sendfile(handle.fd, this.#fd, this.#pos, want);
      if (n > 0) {
        this.#pos += n;
        countBodyBytes(this.#res, n);
        if (this.#pos === this.#end) {
          this.#complete();
          return;
        }
        // Short write: the socket buffer filled up; wait for it rather than call into EAGAIN.
        // (A full-size write that did not finish is the kernel's 2 GiB per-call cap: go on.)
        if (n < want) {
          this.#writeOneByte();
          return;
        }
        continue;
      }
      if (n === -binding!.EAGAIN) this.#writeOneByte();
      else this.#abort(); // 0: the file is shorter than announced; < 0: the peer is gone
      return;
    }
  }

  #writeOneByte(): void {
    this.#byte ??= Buffer.allocUnsafe(1);
    let read = 0;
    try {
      read = readSync(this.#fd, this.#byte, 0, 1, this.#pos);
    } catch {
      // Reported as a short file below.
    }
    if (read !== 1) {
      this.#abort();
      return;
    }
    this.#pos += 1;
    countBodyBytes(this.#res, 1);
    this.#socket!.write(this.#byte, this.#afterByte);
  }

  #resume(error: Error | null | undefined): void {
    if (this.#done) return;
    if (error != null) this.#abort();
    else if (this.#pos === this.#end) this.#complete();
    else this.#pump();
  }

  #complete(): void {
    this.#release();
    this.#res.end();
  }

  #abort(): void {
    this.#release();
    const socket = this.#socket ?? this.#res.socket;
    if (socket !== null) socket.destroy();
    else this.#res.destroy();
  }

  /** Closes the file once, whichever way the transfer ends (the response's 'close' included). */
  #release(): void {
    if (this.#done) return;
    this.#done = true;
    this.#res.off('close', this.#onClose);
    closeSync(this.#fd);
  }
}
