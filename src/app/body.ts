import { randomUUID } from 'node:crypto';
import { createWriteStream, type WriteStream } from 'node:fs';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { Busboy, type BusboyInstance } from '@fastify/busboy';
import { HttpError } from './http-error.ts';
import { isJson, type MediaType, parseMediaType } from './media-type.ts';

/** Size limits of the body parsers, in bytes (counts for multipart). */
export interface BodyLimits {
  /** JSON bodies. Default 1 MiB. */
  json: number;
  /** `text/*` bodies. Default 1 MiB. */
  text: number;
  /** `application/x-www-form-urlencoded` bodies. Default 1 MiB. */
  urlencoded: number;
  /** Other bodies, read as bytes. Default 1 MiB. */
  bytes: number;
  /** Whole multipart bodies. Default 50 MiB. */
  multipart: number;
  /** One uploaded file. Default 10 MiB. */
  fileSize: number;
  /** Uploaded files per request. Default 10. */
  files: number;
  /** Non-file fields per request. Default 1000. */
  fields: number;
  /** One field's value. Default 1 MiB. */
  fieldSize: number;
  /** Where uploaded files go: `memory` (default) or `disk` (a temporary directory). */
  storage: 'memory' | 'disk';
  /** Directory for `storage: 'disk'`. Default the OS temporary directory. */
  uploadDir: string;
}

export const BODY_DEFAULTS: BodyLimits = Object.freeze({
  json: 1_048_576,
  text: 1_048_576,
  urlencoded: 1_048_576,
  bytes: 1_048_576,
  multipart: 52_428_800,
  fileSize: 10_485_760,
  files: 10,
  fields: 1000,
  fieldSize: 1_048_576,
  storage: 'memory',
  uploadDir: tmpdir(),
});

/** A file from a multipart body. */
export interface UploadedFile {
  field: string;
  /** The client's name for it, without any path (never trust it as a path). */
  filename: string;
  type: string;
  size: number;
  /** The content, with `storage: 'memory'`. */
  bytes?: Uint8Array;
  /**
   * Where it was written, with `storage: 'disk'`. Inside an app the file is deleted when the
   * request's response is ready, unless the handler moved it or called `keepUpload(file)`.
   */
  path?: string;
}

export type FormValue = string | UploadedFile;
export type FormBody = Record<string, FormValue | FormValue[]>;

const DIGITS = /^\d{1,16}$/;

const tooLarge = (what: string, limit: number): HttpError =>
  new HttpError(413, `The ${what} is larger than the limit of ${limit} bytes`);

/**
 * Reads the body within `limit` bytes: refused from Content-Length before reading when it
 * declares more, and counted while streaming otherwise.
 */
export async function readBodyBytes(
  request: Request,
  limit: number,
  what = 'request body',
): Promise<Uint8Array> {
  const declared = request.headers.get('content-length');
  // RFC 9110 §8.6: 1*DIGIT. Anything else (`abc`, `1e3`, `0x10`, a list) is not trusted: the
  // body is counted as it streams, as if no length had been declared.
  if (declared !== null && DIGITS.test(declared)) {
    if (Number(declared) > limit) throw tooLarge(what, limit);
    // The server's framing holds the body to its declared length; where nothing does (a
    // hand-made Request), the size is still checked.
    const bytes = await request.bytes();
    if (bytes.byteLength > limit) throw tooLarge(what, limit);
    return bytes;
  }
  const body = request.body;
  if (body === null) return new Uint8Array(0);
  const chunks: Uint8Array[] = [];
  let size = 0;
  const reader = body.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > limit) {
      reader.cancel().catch(() => {});
      throw tooLarge(what, limit);
    }
    chunks.push(value);
  }
  const out = new Uint8Array(size);
  let offset = 0;
  for (const chunk of chunks) {
    out.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return out;
}

const decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false });

function decodeText(bytes: Uint8Array): string {
  try {
    return decoder.decode(bytes);
  } catch {
    throw new HttpError(400, 'The request body is not valid UTF-8');
  }
}

/**
 * JSON without prototype pollution: a body with a `__proto__` key, or a `constructor` key
 * holding a `prototype`, is refused (400) instead of parsed, as secure-json-parse does.
 *
 * The check is on the parsed keys: `"\u005f_proto__"` is `__proto__` once parsed, so any
 * `\u` escape in the text is a reason to look, as are the names themselves. Text with none of
 * them (the common case) costs three substring searches.
 */
export function parseJsonSafely(text: string): unknown {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new HttpError(400, `The request body is not valid JSON: ${(err as Error).message}`);
  }
  if (
    value !== null &&
    typeof value === 'object' &&
    (text.includes('\\u') || text.includes('__proto__') || text.includes('constructor'))
  ) {
    assertNoPollution(value);
  }
  return value;
}

function assertNoPollution(root: object): void {
  const stack: object[] = [root];
  while (stack.length > 0) {
    const node = stack.pop() as Record<string, unknown>;
    if (Array.isArray(node)) {
      for (let i = 0; i < node.length; i++) {
        const child: unknown = node[i];
        if (child !== null && typeof child === 'object') stack.push(child);
      }
      continue;
    }
    if (Object.hasOwn(node, '__proto__'))
      throw new HttpError(400, 'The JSON body has a forbidden "__proto__" key');
    if (Object.hasOwn(node, 'constructor')) {
      const ctor = node.constructor;
      if (ctor !== null && typeof ctor === 'object' && Object.hasOwn(ctor, 'prototype'))
        throw new HttpError(400, 'The JSON body has a forbidden "constructor.prototype" key');
    }
    for (const key in node) {
      const child = node[key];
      if (child !== null && typeof child === 'object') stack.push(child);
    }
  }
}

/**
 * A form key that walks into a prototype: `__proto__`, `constructor` or `prototype` as the whole
 * name or as one segment of a bracket or dot path (`a[__proto__][x]`, `constructor.prototype`).
 * A repeated key is an array and an upload an object, so a recursive merge of the form follows
 * `__proto__` into `Object.prototype`; the paths are what qs-style expanders follow.
 */
const POLLUTING_KEY = /(?:^|[[\].])(?:__proto__|constructor|prototype)(?:$|[[\].])/;

function assertSafeFieldName(name: string): void {
  if (POLLUTING_KEY.test(name)) throw forbiddenName(name);
}

function formFromSearchParams(params: URLSearchParams): FormBody {
  const out = Object.create(null) as FormBody;
  for (const [key, value] of params) {
    assertSafeFieldName(key);
    addField(out, key, value);
  }
  return out;
}

function addField(out: FormBody, key: string, value: FormValue): void {
  const prev = out[key];
  if (prev === undefined) out[key] = value;
  else if (Array.isArray(prev)) prev.push(value);
  else out[key] = [prev, value];
}

/**
 * Parses the body by its media type: JSON, urlencoded and multipart forms, `text/*`, and bytes
 * for anything else. `undefined` when there is no body. A body whose type is required but
 * missing or malformed gets 415.
 */
export function parseBody(request: Request, limits: BodyLimits = BODY_DEFAULTS): Promise<unknown> {
  const header = request.headers.get('content-type');
  const hasBody = request.headers.has('content-length')
    ? request.headers.get('content-length') !== '0'
    : request.headers.has('transfer-encoding') || request.body !== null;
  if (!hasBody) return Promise.resolve(undefined);
  const type = parseMediaType(header);
  if (type === undefined) {
    if (header !== null)
      return Promise.reject(new HttpError(415, `Malformed Content-Type ${JSON.stringify(header)}`));
    return readBodyBytes(request, limits.bytes);
  }
  // Multipart's own promise goes back as it is (not through an async wrapper), so that a parse
  // the request no longer waits for can be stopped without an unhandled rejection.
  if (type.essence === 'multipart/form-data') return parseMultipart(request, type, limits);
  return parseTyped(request, type, limits);
}

async function parseTyped(request: Request, type: MediaType, limits: BodyLimits): Promise<unknown> {
  const charset = type.params.charset?.toLowerCase();
  if (charset !== undefined && charset !== 'utf-8' && charset !== 'utf8' && charset !== 'us-ascii') {
    if (
      isJson(type.essence) ||
      type.essence === 'application/x-www-form-urlencoded' ||
      type.essence.startsWith('text/')
    ) {
      throw new HttpError(415, `Unsupported charset ${charset}: send UTF-8`);
    }
  }
  if (isJson(type.essence))
    return parseJsonSafely(decodeText(await readBodyBytes(request, limits.json, 'JSON body')));
  if (type.essence === 'application/x-www-form-urlencoded') {
    const text = decodeText(await readBodyBytes(request, limits.urlencoded, 'form body'));
    return formFromSearchParams(new URLSearchParams(text));
  }
  if (type.essence.startsWith('text/'))
    return decodeText(await readBodyBytes(request, limits.text, 'text body'));
  return readBodyBytes(request, limits.bytes);
}

/** Deletes the files a disk-stored multipart body wrote. */
export async function discardUploads(body: unknown): Promise<void> {
  if (body === null || typeof body !== 'object') return;
  const files: UploadedFile[] = [];
  for (const value of Object.values(body as FormBody)) {
    for (const v of Array.isArray(value) ? value : [value]) if (typeof v === 'object') files.push(v);
  }
  await removeFiles(files);
}

function removeFiles(files: readonly UploadedFile[]): Promise<void> {
  const removals: Promise<void>[] = [];
  for (const file of files) if (file.path !== undefined) removals.push(rm(file.path, { force: true }));
  return removals.length === 0 ? Promise.resolve() : Promise.all(removals).then(noop);
}

const noop = (): void => {};

// ---- who owns a disk upload --------------------------------------------------------------
//
// A request owns its disk uploads until it ends: whatever ends it (a validation failure, a
// middleware that throws or answers early, the handler throwing or returning) the app calls
// `releaseUploads` once its response is ready, which deletes every file the handler did not
// `keepUpload()` (a file it renamed away is simply not found). A parse that fails deletes what
// it wrote before it rejects.

/** The disk uploads of a request in flight, and the parse still reading its body if any. */
interface UploadRecord {
  readonly files: UploadedFile[];
  parse: MultipartParse | undefined;
  /** What `parseBody` handed the caller for that parse. */
  result: Promise<FormBody> | undefined;
}

const records = new WeakMap<Request, UploadRecord>();
// Records not yet released: while 0 (no disk upload in flight), `releaseUploads` is a compare.
// (A disk parse outside an app is never released: it only costs the others a WeakMap lookup.)
let tracked = 0;
const kept = new WeakSet<UploadedFile>();

/**
 * Keeps a disk upload past the end of its request: strata will not delete it, and the caller
 * now owns the file (move it, or delete it when done). Without it, every upload is deleted when
 * the request's response is ready, so a handler that processes a file in the background
 * (`c.info.waitUntil(...)`) must keep it, or move it before it returns.
 *
 * @example
 * app.post('/import', validate({ body: Upload }), (c) => {
 *   const file = keepUpload(c.body.file);
 *   c.info.waitUntil(importCsv(file.path!).finally(() => rm(file.path!)));
 *   return c.json({ queued: true }, 202);
 * });
 */
export function keepUpload(file: UploadedFile): UploadedFile {
  kept.add(file);
  return file;
}

/**
 * Ends a request's hold on its disk uploads: stops a multipart parse still reading the body and
 * deletes every file not kept. The app calls it once per request, when the response is ready;
 * it returns the deletion to wait for, or undefined when the request wrote nothing to disk.
 */
export function releaseUploads(request: Request): Promise<void> | undefined {
  if (tracked === 0) return undefined;
  const record = records.get(request);
  if (record === undefined) return undefined;
  records.delete(request);
  tracked -= 1;
  const removal = removeFiles(record.files.filter((file) => !kept.has(file)));
  const parse = record.parse;
  if (parse === undefined) return removal;
  // The response is ready but a parse is still reading (a handler that did not await it):
  // nobody will read its result, and its failure deletes what it wrote.
  record.result?.catch(noop);
  parse.fail(new HttpError(400, 'The request ended before its multipart body was read'));
  return Promise.all([removal, parse.done.then(noop, noop)]).then(noop);
}

// RFC 2046 §5.1.1: 1 to 70 characters of bchars, not ending with a space.
const BOUNDARY = /^[0-9A-Za-z'()+_,\-./:=? ]{0,69}[0-9A-Za-z'()+_,\-./:=?]$/;

function parseMultipart(request: Request, type: MediaType, limits: BodyLimits): Promise<FormBody> {
  const boundary = type.params.boundary;
  if (boundary === undefined || !BOUNDARY.test(boundary)) {
    return Promise.reject(
      new HttpError(400, 'multipart/form-data needs a boundary of 1 to 70 characters (RFC 2046 §5.1.1)'),
    );
  }
  const declared = request.headers.get('content-length');
  if (declared !== null && Number(declared) > limits.multipart) {
    return Promise.reject(tooLarge('multipart body', limits.multipart));
  }
  const body = request.body;
  if (body === null) return Promise.resolve(Object.create(null) as FormBody);
  let reader: ReadableStreamDefaultReader<Uint8Array>;
  try {
    reader = body.getReader();
  } catch (err) {
    return Promise.reject(err); // already being read (a second parse of the same request)
  }
  const parse = new MultipartParse(reader, boundary, limits);
  if (limits.storage !== 'disk') return parse.done;
  let record = records.get(request);
  if (record === undefined) {
    record = { files: [], parse: undefined, result: undefined };
    records.set(request, record);
    tracked += 1;
  }
  const owner = record;
  const result = parse.done.then(
    (form) => {
      owner.parse = undefined;
      owner.result = undefined;
      owner.files.push(...parse.files);
      return form;
    },
    (err: unknown) => {
      owner.parse = undefined;
      owner.result = undefined;
      throw err;
    },
  );
  owner.parse = parse;
  owner.result = result;
  return result;
}

/**
 * One multipart body read through busboy. The first failure wins and ends everything at once:
 * the body is cancelled, no further part is read, every file stream and file sink is destroyed,
 * the files written so far are deleted, and only then does `done` reject.
 */
class MultipartParse {
  readonly done: Promise<FormBody>;
  /** Files written to disk (or being written). */
  readonly files: UploadedFile[];
  #out: FormBody;
  #limits: BodyLimits;
  #reader: ReadableStreamDefaultReader<Uint8Array>;
  #busboy: BusboyInstance | undefined;
  #streams: NodeJS.ReadableStream[];
  #sinks: WriteStream[];
  #closed: Promise<void>[];
  #failed: boolean;
  #settled: boolean;
  #resolve!: (form: FormBody) => void;
  #reject!: (err: unknown) => void;
  #wake: (() => void) | undefined;
  #total: number;

  constructor(reader: ReadableStreamDefaultReader<Uint8Array>, boundary: string, limits: BodyLimits) {
    this.done = new Promise<FormBody>((resolve, reject) => {
      this.#resolve = resolve;
      this.#reject = reject;
    });
    this.files = [];
    this.#out = Object.create(null) as FormBody;
    this.#limits = limits;
    this.#reader = reader;
    this.#busboy = undefined;
    this.#streams = [];
    this.#sinks = [];
    this.#closed = [];
    this.#failed = false;
    this.#settled = false;
    this.#wake = undefined;
    this.#total = 0;
    let busboy: BusboyInstance;
    try {
      busboy = new Busboy({
        headers: { 'content-type': `multipart/form-data; boundary="${boundary}"` },
        limits: {
          fileSize: limits.fileSize,
          files: limits.files,
          fields: limits.fields,
          fieldSize: limits.fieldSize,
          parts: limits.files + limits.fields,
        },
      });
    } catch (err) {
      this.fail(new HttpError(400, `Malformed multipart body: ${(err as Error).message}`));
      return;
    }
    this.#busboy = busboy;
    busboy.on('field', (name: string, value: string, _nameTruncated: boolean, valueTruncated: boolean) =>
      this.#onField(name, value, valueTruncated),
    );
    busboy.on(
      'file',
      (name: string, stream: NodeJS.ReadableStream, filename: string, _enc: string, mime: string) =>
        this.#onFile(name, stream, filename, mime),
    );
    busboy.on('filesLimit', () => this.fail(new HttpError(413, `More than ${limits.files} files`)));
    busboy.on('fieldsLimit', () => this.fail(new HttpError(413, `More than ${limits.fields} fields`)));
    busboy.on('partsLimit', () => this.fail(new HttpError(413, 'Too many parts in the multipart body')));
    busboy.on('error', (err: Error) => this.fail(malformed(err.message)));
    busboy.on('finish', () => this.#onFinish());
    this.#pump().catch((err: unknown) => this.fail(bodyReadError(err)));
  }

  /** Ends the parse with `err` (the first call wins): stop, destroy, delete, then reject. */
  fail(err: Error): void {
    if (this.#failed || this.#settled) return;
    this.#failed = true;
    this.#wake?.();
    this.#reader.cancel(err).catch(noop);
    this.#busboy?.on('error', noop);
    for (const stream of this.#streams) {
      stream.unpipe();
      (stream as Readable).destroy();
    }
    for (const sink of this.#sinks) sink.destroy();
    // The files are deleted once their descriptors are closed (a sink still opening finishes
    // opening first), so no file is created after its deletion.
    Promise.all(this.#closed)
      .then(() => removeFiles(this.files))
      .catch(noop)
      .finally(() => {
        this.#settled = true;
        this.#reject(err);
      });
  }

  async #pump(): Promise<void> {
    const reader = this.#reader;
    const busboy = this.#busboy!;
    for (;;) {
      const { done, value } = await reader.read();
      if (this.#failed) return;
      if (done) {
        busboy.end();
        return;
      }
      this.#total += value.byteLength;
      if (this.#total > this.#limits.multipart) {
        this.fail(tooLarge('multipart body', this.#limits.multipart));
        return;
      }
      if (!busboy.write(value)) {
        await new Promise<void>((wake) => {
          this.#wake = wake;
          busboy.once('drain', wake);
        });
        this.#wake = undefined;
        if (this.#failed) return;
      }
    }
  }

  #onField(name: string, value: string, valueTruncated: boolean): void {
    if (this.#failed) return;
    if (POLLUTING_KEY.test(name)) this.fail(forbiddenName(name));
    else if (valueTruncated) this.fail(tooLarge(`field "${name}"`, this.#limits.fieldSize));
    else addField(this.#out, name, value);
  }

  #onFile(name: string, stream: NodeJS.ReadableStream, filename: string | undefined, mime: string): void {
    // A part of a body that has already failed: drain it, write nothing.
    stream.on('error', (err: Error) => this.fail(malformed(err.message)));
    if (this.#failed) {
      stream.resume();
      return;
    }
    if (POLLUTING_KEY.test(name)) {
      stream.resume();
      this.fail(forbiddenName(name));
      return;
    }
    const limits = this.#limits;
    const file: UploadedFile = { field: name, filename: baseName(filename ?? ''), type: mime, size: 0 };
    this.#streams.push(stream);
    stream.on('limit', () => this.fail(tooLarge(`file "${file.filename}"`, limits.fileSize)));
    if (limits.storage === 'disk') {
      const path = join(limits.uploadDir, `strata-upload-${randomUUID()}`);
      file.path = path;
      this.files.push(file);
      const sink = createWriteStream(path, { flags: 'wx', mode: 0o600 });
      this.#sinks.push(sink);
      this.#closed.push(new Promise<void>((closed) => sink.once('close', closed)));
      // A disk that refuses the file (full, read-only) is the server's problem: 500.
      sink.on('error', (err: Error) => this.fail(err));
      stream.on('data', (chunk: Buffer) => {
        file.size += chunk.length;
      });
      stream.pipe(sink);
    } else {
      const chunks: Buffer[] = [];
      stream.on('data', (chunk: Buffer) => {
        file.size += chunk.length;
        chunks.push(chunk);
      });
      stream.on('end', () => {
        file.bytes = new Uint8Array(Buffer.concat(chunks));
      });
    }
    addField(this.#out, name, file);
  }

  #onFinish(): void {
    Promise.all(this.#closed).then(() => {
      if (this.#failed || this.#settled) return;
      this.#settled = true;
      this.#resolve(this.#out);
    });
  }
}

const malformed = (reason: string): HttpError => new HttpError(400, `Malformed multipart body: ${reason}`);

const forbiddenName = (name: string): HttpError =>
  new HttpError(400, `The form has a forbidden field name ${JSON.stringify(name)}`);

/** A body that could not be read: the server's own 4xx (too large, aborted) as it is, else 400. */
function bodyReadError(err: unknown): Error {
  const status = (err as { status?: unknown } | null)?.status;
  if (err instanceof Error && typeof status === 'number' && status >= 400 && status < 500) return err;
  return new HttpError(400, 'The request body could not be read', { cause: err });
}

/** The last path segment of a client-supplied filename (both separators). */
function baseName(name: string): string {
  const cut = Math.max(name.lastIndexOf('/'), name.lastIndexOf('\\'));
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what it strips.
  return (cut === -1 ? name : name.slice(cut + 1)).replace(/[\u0000-\u001f]/g, '');
}
