import { randomUUID } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Busboy } from '@fastify/busboy';
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
  /** Where it was written, with `storage: 'disk'`; delete it when done (or use `discard`). */
  path?: string;
}

export type FormValue = string | UploadedFile;
export type FormBody = Record<string, FormValue | FormValue[]>;

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
  if (declared !== null) {
    if (Number(declared) > limit) throw tooLarge(what, limit);
    return request.bytes();
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

const forbiddenName = (name: string): HttpError =>
  new HttpError(400, `The form has a forbidden field name ${JSON.stringify(name)}`);

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
export async function parseBody(request: Request, limits: BodyLimits = BODY_DEFAULTS): Promise<unknown> {
  const header = request.headers.get('content-type');
  const hasBody = request.headers.has('content-length')
    ? request.headers.get('content-length') !== '0'
    : request.headers.has('transfer-encoding') || request.body !== null;
  if (!hasBody) return undefined;
  const type = parseMediaType(header);
  if (type === undefined) {
    if (header !== null) throw new HttpError(415, `Malformed Content-Type ${JSON.stringify(header)}`);
    return readBodyBytes(request, limits.bytes);
  }
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
  if (type.essence === 'multipart/form-data') return parseMultipart(request, type, limits);
  if (type.essence.startsWith('text/'))
    return decodeText(await readBodyBytes(request, limits.text, 'text body'));
  return readBodyBytes(request, limits.bytes);
}

/** Deletes the files a disk-stored multipart body wrote. */
export async function discardUploads(body: unknown): Promise<void> {
  if (body === null || typeof body !== 'object') return;
  const paths: string[] = [];
  for (const value of Object.values(body as FormBody)) {
    for (const v of Array.isArray(value) ? value : [value])
      if (typeof v === 'object' && v.path) paths.push(v.path);
  }
  await Promise.all(paths.map((p) => rm(p, { force: true })));
}

function parseMultipart(request: Request, type: MediaType, limits: BodyLimits): Promise<FormBody> {
  if (type.params.boundary === undefined)
    return Promise.reject(new HttpError(400, 'multipart/form-data without a boundary'));
  const declared = request.headers.get('content-length');
  if (declared !== null && Number(declared) > limits.multipart) {
    return Promise.reject(tooLarge('multipart body', limits.multipart));
  }
  const body = request.body;
  if (body === null) return Promise.resolve(Object.create(null) as FormBody);
  return new Promise<FormBody>((resolve, reject) => {
    const out = Object.create(null) as FormBody;
    const written: string[] = [];
    const pending: Promise<void>[] = [];
    let failed: Error | undefined;
    const busboy = new Busboy({
      headers: { 'content-type': request.headers.get('content-type')! },
      limits: {
        fileSize: limits.fileSize,
        files: limits.files,
        fields: limits.fields,
        fieldSize: limits.fieldSize,
        parts: limits.files + limits.fields,
      },
    });
    const fail = (err: Error): void => {
      if (failed !== undefined) return;
      failed = err;
      reader.cancel(err).catch(() => {});
      Promise.allSettled(pending)
        .then(() => Promise.all(written.map((p) => rm(p, { force: true }))))
        .finally(() => reject(err));
    };
    busboy.on('field', (name: string, value: string, _nameTruncated: boolean, valueTruncated: boolean) => {
      if (POLLUTING_KEY.test(name)) fail(forbiddenName(name));
      else if (valueTruncated) fail(tooLarge(`field "${name}"`, limits.fieldSize));
      else addField(out, name, value);
    });
    busboy.on(
      'file',
      (field: string, stream: NodeJS.ReadableStream, filename: string, _enc: string, mime: string) => {
        if (POLLUTING_KEY.test(field)) {
          stream.resume();
          fail(forbiddenName(field));
          return;
        }
        const file: UploadedFile = { field, filename: baseName(filename ?? ''), type: mime, size: 0 };
        stream.on('limit', () => fail(tooLarge(`file "${file.filename}"`, limits.fileSize)));
        if (limits.storage === 'disk') {
          const path = join(limits.uploadDir, `strata-upload-${randomUUID()}`);
          written.push(path);
          file.path = path;
          const sink = createWriteStream(path, { flags: 'wx', mode: 0o600 });
          stream.on('data', (chunk: Buffer) => (file.size += chunk.length));
          pending.push(
            new Promise<void>((done, error) => {
              sink.on('finish', done);
              sink.on('error', error);
              stream.on('error', error);
            }).catch((err: Error) => fail(err)),
          );
          stream.pipe(sink);
        } else {
          const chunks: Buffer[] = [];
          stream.on('data', (chunk: Buffer) => {
            file.size += chunk.length;
            chunks.push(chunk);
          });
          stream.on('end', () => (file.bytes = new Uint8Array(Buffer.concat(chunks))));
        }
        addField(out, field, file);
      },
    );
    busboy.on('filesLimit', () => fail(new HttpError(413, `More than ${limits.files} files`)));
    busboy.on('fieldsLimit', () => fail(new HttpError(413, `More than ${limits.fields} fields`)));
    busboy.on('partsLimit', () => fail(new HttpError(413, 'Too many parts in the multipart body')));
    busboy.on('error', (err: Error) => fail(new HttpError(400, `Malformed multipart body: ${err.message}`)));
    busboy.on('finish', () => {
      Promise.all(pending).then(() => {
        if (failed === undefined) resolve(out);
      });
    });

    const reader = body.getReader();
    let total = 0;
    const pump = async (): Promise<void> => {
      for (;;) {
        const { done, value } = await reader.read();
        if (failed !== undefined) return;
        if (done) {
          busboy.end();
          return;
        }
        total += value.byteLength;
        if (total > limits.multipart) return fail(tooLarge('multipart body', limits.multipart));
        if (!busboy.write(value)) await new Promise((r) => busboy.once('drain', r));
      }
    };
    pump().catch((err: Error) => fail(err));
  });
}

/** The last path segment of a client-supplied filename (both separators). */
function baseName(name: string): string {
  const cut = Math.max(name.lastIndexOf('/'), name.lastIndexOf('\\'));
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what it strips.
  return (cut === -1 ? name : name.slice(cut + 1)).replace(/[\u0000-\u001f]/g, '');
}
