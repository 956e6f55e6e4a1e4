/**
 * Fuzzes the multipart parser with disk storage: random boundaries (valid and not), bodies cut
 * short, bad and huge header lines, nested multipart parts, boundaries inside content, random
 * bytes, all delivered in random chunk sizes. Every parse resolves, or rejects with a 4xx
 * HttpError, within a bounded time; a rejected parse leaves nothing in the upload directory, and
 * an accepted one leaves exactly its files.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import {
  BODY_DEFAULTS,
  type BodyLimits,
  discardUploads,
  type FormBody,
  HttpError,
  parseBody,
  type UploadedFile,
} from '../../src/app/index.ts';
import { fuzz, PRINTABLE, type Rng } from '../fixtures/fuzz.ts';

const dir = mkdtempSync(join(tmpdir(), 'strata-mp-fuzz-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const LIMITS: BodyLimits = {
  ...BODY_DEFAULTS,
  storage: 'disk',
  uploadDir: dir,
  fileSize: 4096,
  fieldSize: 1024,
  files: 3,
  fields: 6,
  multipart: 96 * 1024,
};
const CASE_TIMEOUT = 3000;

const BCHARS = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz'()+_,-./:=?";
const NAMES = ['a', 'file', 'doc', 'x[y]', '', '__proto__', 'constructor[prototype][x]', 'na"me', 'é'];
const enc = new TextEncoder();

function boundaryOf(rng: Rng): string {
  switch (rng.int(0, 29)) {
    case 0:
      return rng.string(BCHARS, rng.int(71, 90)); // too long
    case 1:
      return `${rng.string(BCHARS, rng.int(1, 10))} `; // ends with a space
    case 2:
      return rng.string(PRINTABLE, rng.int(0, 20)); // anything printable
    case 3:
      return `${rng.string(BCHARS, rng.int(1, 10))} ${rng.string(BCHARS, rng.int(1, 10))}`; // a space inside
    default:
      return rng.string(BCHARS, rng.int(1, 70));
  }
}

function contentTypeOf(rng: Rng, boundary: string): string {
  switch (rng.int(0, 29)) {
    case 0:
      return 'multipart/form-data';
    case 1:
      return `multipart/form-data; boundary="${boundary}"; boundary=other`;
    case 2:
      return `multipart/form-data; boundary=${boundary}`; // unquoted, may be malformed
    case 3:
      return `multipart/form-data; charset=utf-8; boundary="${boundary}"`;
    default:
      return `multipart/form-data; boundary="${boundary.replace(/["\\]/g, '')}"`;
  }
}

function headerLines(rng: Rng, inner: string | undefined): string {
  const name = rng.pick(NAMES);
  const lines: string[] = [];
  switch (rng.int(0, 11)) {
    case 0:
      lines.push(
        `Content-Disposition: form-data; name="${name}"; filename="${rng.string(PRINTABLE, rng.int(0, 30))}"`,
      );
      lines.push('Content-Type: application/octet-stream');
      break;
    case 1:
      lines.push(`Content-Disposition: attachment; name="${name}"`);
      break;
    case 2:
      lines.push(`X-Huge: ${'h'.repeat(rng.int(1000, 120_000))}`); // a huge header line
      lines.push(`Content-Disposition: form-data; name="${name}"`);
      break;
    case 3:
      for (let i = 0; i < rng.int(100, 2500); i++) lines.push(`X-${i}: v`); // many header lines
      break;
    case 4:
      lines.push('no colon here');
      lines.push(`Content-Disposition: form-data; name=${name}`);
      break;
    case 5:
      lines.push(`Content-Disposition: form-data;\r\n name="${name}"`); // folded
      break;
    case 6:
      lines.push(`Content-Disposition: form-data; name="${name}"\nContent-Type: text/plain`); // bare LF
      break;
    case 7:
      lines.push(`Content-Disposition: form-data; name="${name}"; filename="f"`);
      lines.push(`Content-Type: multipart/mixed; boundary=${inner ?? 'inner'}`);
      break;
    case 8:
      lines.push(rng.string(PRINTABLE, rng.int(0, 200)));
      break;
    default:
      lines.push(
        `Content-Disposition: form-data; name="${name}"${rng.chance(0.5) ? `; filename="f${rng.int(0, 9)}.bin"` : ''}`,
      );
  }
  return lines.join(rng.chance(0.9) ? '\r\n' : '\n');
}

function content(rng: Rng, boundary: string, inner: string): Uint8Array {
  switch (rng.int(0, 6)) {
    case 0:
      return rng.bytes(rng.int(0, 6000));
    case 1:
      // A nested multipart body, with its own boundary.
      return enc.encode(
        `--${inner}\r\nContent-Disposition: file; filename="n.txt"\r\n\r\nnested\r\n--${inner}--\r\n`,
      );
    case 2:
      // Near-misses of the delimiter inside the content.
      return enc.encode(`a\r\n--${boundary.slice(0, -1)}\r\n--${boundary}x\r\n-${boundary}`);
    case 3:
      return enc.encode('x'.repeat(rng.int(1000, 5000)));
    default:
      return enc.encode(rng.string(PRINTABLE, rng.int(0, 200)));
  }
}

function bodyOf(rng: Rng, boundary: string): Uint8Array {
  if (rng.chance(0.08)) return rng.bytes(rng.int(0, 20_000));
  const chunks: Uint8Array[] = [];
  const inner = rng.string(BCHARS, rng.int(1, 20));
  if (rng.chance(0.2)) chunks.push(enc.encode(`preamble ${rng.string(PRINTABLE, 20)}\r\n`));
  const parts = rng.int(0, 8);
  for (let i = 0; i < parts; i++) {
    const delimiter = rng.chance(0.05) ? `--${boundary}${rng.string(BCHARS, 2)}` : `--${boundary}`;
    const padding = rng.chance(0.1) ? ' \t ' : '';
    chunks.push(enc.encode(`${delimiter}${padding}\r\n${headerLines(rng, inner)}\r\n\r\n`));
    chunks.push(content(rng, boundary, inner));
    chunks.push(enc.encode('\r\n'));
  }
  if (rng.chance(0.8)) chunks.push(enc.encode(`--${boundary}--${rng.chance(0.2) ? 'epilogue' : ''}\r\n`));
  const total = chunks.reduce((n, c) => n + c.byteLength, 0);
  const out = new Uint8Array(total);
  let offset = 0;
  for (const c of chunks) {
    out.set(c, offset);
    offset += c.byteLength;
  }
  // Cut short sometimes: a client that stopped sending.
  return rng.chance(0.2) ? out.subarray(0, rng.int(0, out.byteLength)) : out;
}

function requestOf(rng: Rng, type: string, body: Uint8Array): Request {
  let offset = 0;
  const stream = new ReadableStream<Uint8Array>({
    pull(controller) {
      if (offset >= body.byteLength) {
        controller.close();
        return;
      }
      const size = rng.chance(0.3) ? rng.int(1, 16) : rng.int(1, 8192);
      controller.enqueue(body.slice(offset, offset + size));
      offset += size;
    },
  });
  return new Request('http://localhost/', {
    method: 'POST',
    body: stream,
    duplex: 'half',
    headers: { 'content-type': type },
  } as RequestInit);
}

function filesOf(form: FormBody): UploadedFile[] {
  const out: UploadedFile[] = [];
  for (const value of Object.values(form))
    for (const v of Array.isArray(value) ? value : [value]) if (typeof v === 'object') out.push(v);
  return out;
}

test('fuzz: multipart parses resolve or reject with a 4xx in bounded time, and rejected ones leave no file', async () => {
  const outcomes = { resolved: 0, rejected: 0 };
  const cases = await fuzz({ seed: 0x5eed_0009, iterations: 3000, budgetMs: 2000 }, async (rng, i) => {
    const boundary = boundaryOf(rng);
    const type = contentTypeOf(rng, boundary);
    const body = bodyOf(rng, boundary);
    let timer: NodeJS.Timeout | undefined;
    const hung = new Promise<'hung'>((resolve) => {
      timer = setTimeout(() => resolve('hung'), CASE_TIMEOUT);
    });
    const outcome = await Promise.race([
      parseBody(requestOf(rng, type, body), LIMITS).then(
        (value) => ({ value }),
        (error: unknown) => ({ error }),
      ),
      hung,
    ]);
    clearTimeout(timer);
    assert.notEqual(outcome, 'hung', `case ${i} hung (type ${JSON.stringify(type)})`);
    if (outcome === 'hung') return;
    if ('error' in outcome) {
      const err = outcome.error as HttpError;
      assert.ok(
        err instanceof HttpError && err.status >= 400 && err.status < 500,
        `case ${i}: rejected with ${String(err)} (${(err as { stack?: string }).stack})`,
      );
      assert.deepEqual(readdirSync(dir), [], `case ${i}: a rejected parse left files`);
      outcomes.rejected++;
    } else {
      const form = (outcome.value ?? {}) as FormBody;
      const files = filesOf(form);
      for (const f of files) assert.ok(f.path !== undefined && existsSync(f.path), `case ${i}: file missing`);
      assert.equal(
        readdirSync(dir).length,
        files.length,
        `case ${i}: files on disk that the form does not name`,
      );
      await discardUploads(form);
      assert.deepEqual(readdirSync(dir), []);
      outcomes.resolved++;
    }
  });
  assert.ok(cases > 30, `only ${cases} cases ran`);
  assert.ok(outcomes.resolved > 0 && outcomes.rejected > 0, JSON.stringify(outcomes));
});
