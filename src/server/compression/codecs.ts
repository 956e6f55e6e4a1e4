import type { Transform } from 'node:stream';
import {
  type BrotliOptions,
  brotliCompressSync,
  constants,
  createBrotliCompress,
  createDeflate,
  createGzip,
  createZstdCompress,
  deflateSync,
  gzipSync,
  type ZlibOptions,
  type ZstdOptions,
  zstdCompressSync,
} from 'node:zlib';
import type { ContentCoding } from './options.ts';

/**
 * Streams keep their compressor for as long as the response lasts — an idle SSE connection for
 * hours — so they get small windows and tables. Per idle stream (rss, 300 streams, node 24):
 * gzip 226 KB at zlib's defaults (windowBits 15, memLevel 8), 110 KB at windowBits 12 and
 * memLevel 5; brotli 535 KB at quality 4 whatever the window (its hash tables dominate), 279 KB
 * at quality 3, 22 KB at quality 1; zstd 3 803 KB at its defaults (windowLog 21), 61–75 KB at
 * windowLog 16, hashLog and chainLog 12. A plain response costs ~13–17 KB. The ratio lost is
 * small on what streams carry (events flushed one by one, each a few hundred bytes).
 */
const STREAM_ZLIB = { windowBits: 12, memLevel: 5 } as const;
const STREAM_BROTLI_MAX_QUALITY = 1;
const STREAM_BROTLI_WINDOW = 16;
const STREAM_ZSTD = { windowLog: 16, hashLog: 12, chainLog: 12 } as const;
/** Output buffer of a whole body compressed off the loop (`Codecs.whole`). */
const WHOLE_CHUNK = 65_536;
/** Output buffer of a live stream: its flushed chunks are small. */
const LIVE_CHUNK = 4096;

/**
 * The compressors for each coding, with their options objects built once at startup.
 *
 * Known bodies up to `syncLimit` are compressed in one synchronous call (larger ones by `whole`,
 * on the thread pool): on the 10 KB JSON of the compression bench
 * a `*Sync` call cost 37–60 µs of CPU, the same body through a zlib stream 85–93 µs (the stream's
 * thread-pool round trip and buffering cost more than the compression itself).
 *
 * Streams flush after every write (`Z_SYNC_FLUSH`, `BROTLI_OPERATION_FLUSH`, `ZSTD_e_flush`), so
 * each chunk an app writes — an SSE event — leaves at once, decodable, instead of waiting in the
 * compressor's window. Sync flush (not full flush) keeps the dictionary between chunks.
 */
export class Codecs {
  #sync: Record<ContentCoding, object>;
  #zstdParams: Record<number, number>;
  #flushed: Record<ContentCoding, object>;
  #plain: Record<ContentCoding, object>;
  #whole: Record<Exclude<ContentCoding, 'zstd'>, object>;

  constructor(levels: Readonly<Record<ContentCoding, number>>) {
    const zlib = (level: number, flush: number): ZlibOptions => ({ level, flush });
    const br = (quality: number, flush: number): BrotliOptions => ({
      flush,
      params: { [constants.BROTLI_PARAM_QUALITY]: quality },
    });
    const zstd = (level: number, flush: number): ZstdOptions => ({
      flush,
      params: { [constants.ZSTD_c_compressionLevel]: level },
    });
    const streamZlib = (level: number, flush: number, chunkSize: number): ZlibOptions => ({
      level,
      flush,
      chunkSize,
      ...STREAM_ZLIB,
    });
    const streamBr = (quality: number, flush: number, chunkSize: number): BrotliOptions => ({
      flush,
      chunkSize,
      params: {
        [constants.BROTLI_PARAM_QUALITY]: Math.min(quality, STREAM_BROTLI_MAX_QUALITY),
        [constants.BROTLI_PARAM_LGWIN]: STREAM_BROTLI_WINDOW,
      },
    });
    const streamZstd = (level: number, flush: number, chunkSize: number): ZstdOptions => ({
      flush,
      chunkSize,
      params: {
        [constants.ZSTD_c_compressionLevel]: level,
        [constants.ZSTD_c_windowLog]: STREAM_ZSTD.windowLog,
        [constants.ZSTD_c_hashLog]: STREAM_ZSTD.hashLog,
        [constants.ZSTD_c_chainLog]: STREAM_ZSTD.chainLog,
      },
    });
    this.#zstdParams = { [constants.ZSTD_c_compressionLevel]: levels.zstd };
    this.#sync = {
      zstd: zstd(levels.zstd, constants.ZSTD_e_continue),
      br: br(levels.br, constants.BROTLI_OPERATION_PROCESS),
      gzip: zlib(levels.gzip, constants.Z_NO_FLUSH),
      deflate: zlib(levels.deflate, constants.Z_NO_FLUSH),
    };
    // A whole body compressed on the thread pool: the options of the synchronous call (the same
    // bytes out), in bigger output chunks (fewer round trips to the loop).
    // (zstd's are made per body: they carry its size.)
    this.#whole = {
      br: { ...this.#sync.br, chunkSize: WHOLE_CHUNK },
      gzip: { ...this.#sync.gzip, chunkSize: WHOLE_CHUNK },
      deflate: { ...this.#sync.deflate, chunkSize: WHOLE_CHUNK },
    };
    const chunk = 16_384;
    this.#plain = {
      zstd: streamZstd(levels.zstd, constants.ZSTD_e_continue, chunk),
      br: streamBr(levels.br, constants.BROTLI_OPERATION_PROCESS, chunk),
      gzip: streamZlib(levels.gzip, constants.Z_NO_FLUSH, chunk),
      deflate: streamZlib(levels.deflate, constants.Z_NO_FLUSH, chunk),
    };
    this.#flushed = {
      zstd: streamZstd(levels.zstd, constants.ZSTD_e_flush, LIVE_CHUNK),
      br: streamBr(levels.br, constants.BROTLI_OPERATION_FLUSH, LIVE_CHUNK),
      gzip: streamZlib(levels.gzip, constants.Z_SYNC_FLUSH, LIVE_CHUNK),
      deflate: streamZlib(levels.deflate, constants.Z_SYNC_FLUSH, LIVE_CHUNK),
    };
  }

  /** The whole body (of `length` bytes) compressed in one call. */
  compress(coding: ContentCoding, body: string | Uint8Array, length: number): Buffer {
    const options = this.#sync[coding];
    switch (coding) {
      case 'zstd':
        // Told the size, zstd sizes its window and tables for it: about 10% less CPU on 10 KB.
        return zstdCompressSync(body, { pledgedSrcSize: length, params: this.#zstdParams });
      case 'br':
        return brotliCompressSync(body, options as BrotliOptions);
      case 'gzip':
        return gzipSync(body, options as ZlibOptions);
      default:
        return deflateSync(body, options as ZlibOptions);
    }
  }

  /**
   * A stream that compresses a whole body (of `length` bytes, given to its `end()`) on the
   * thread pool, into the same bytes as `compress` — off the event loop. Unlike the streams of
   * `stream()`, it lives only as long as the body takes, so it keeps the full-size windows.
   */
  whole(coding: ContentCoding, length: number): Transform {
    switch (coding) {
      case 'zstd':
        return createZstdCompress({
          pledgedSrcSize: length,
          chunkSize: WHOLE_CHUNK,
          params: this.#zstdParams,
        });
      case 'br':
        return createBrotliCompress(this.#whole.br as BrotliOptions);
      case 'gzip':
        return createGzip(this.#whole.gzip as ZlibOptions);
      default:
        return createDeflate(this.#whole.deflate as ZlibOptions);
    }
  }

  /** A compressing stream; `flushEachWrite` makes every write's output leave at once. */
  stream(coding: ContentCoding, flushEachWrite: boolean): Transform {
    const options = (flushEachWrite ? this.#flushed : this.#plain)[coding];
    switch (coding) {
      case 'zstd':
        return createZstdCompress(options as ZstdOptions);
      case 'br':
        return createBrotliCompress(options as BrotliOptions);
      case 'gzip':
        return createGzip(options as ZlibOptions);
      default:
        return createDeflate(options as ZlibOptions);
    }
  }
}
