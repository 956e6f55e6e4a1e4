import { execFile } from 'node:child_process';

export interface LoadResult {
  requests: number;
  succeeded: number;
  failed: number;
  errored: number;
  status2xx: number;
  statusOther: number;
  reqPerSec: number;
  raw: string;
}

/**
 * Runs h2load pinned to `core` and parses its summary: over HTTP/1.1, or over HTTP/2 with
 * `streams` concurrent streams per connection when `http2` is given (TLS by the URL's https).
 */
export function h2load(options: {
  url: string;
  requests: number;
  connections: number;
  core: number;
  headers?: string[];
  method?: string;
  dataFile?: string;
  /** A file of URIs, one per line, used round-robin instead of `url`. */
  uriFile?: string;
  /** HTTP/2 (ALPN h2 on an https URL) with this many streams per connection (h2load -m). */
  http2?: { streams: number };
}): Promise<LoadResult> {
  const args = [
    '-c',
    String(options.core),
    'h2load',
    ...(options.http2 === undefined ? ['--h1'] : ['-m', String(options.http2.streams)]),
    '-n',
    String(options.requests),
    '-c',
    String(options.connections),
    '-t',
    '1',
  ];
  for (const h of options.headers ?? []) args.push('-H', h);
  if (options.dataFile !== undefined) args.push('-d', options.dataFile);
  if (options.method !== undefined) args.push('--header', `:method: ${options.method}`);
  if (options.uriFile !== undefined) args.push('-i', options.uriFile);
  else args.push(options.url);
  return new Promise((resolve, reject) => {
    execFile('taskset', args, { maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => {
      if (err) return reject(new Error(`h2load failed: ${err.message}\n${stderr}`));
      const num = (re: RegExp): number => Number(re.exec(stdout)?.[1] ?? Number.NaN);
      resolve({
        requests: num(/requests: (\d+) total/),
        succeeded: num(/(\d+) succeeded/),
        failed: num(/(\d+) failed/),
        errored: num(/(\d+) errored/),
        status2xx: num(/status codes: (\d+) 2xx/),
        statusOther: num(/2xx, (\d+) 3xx/) + num(/3xx, (\d+) 4xx/) + num(/4xx, (\d+) 5xx/),
        reqPerSec: num(/finished in [^,]+, ([\d.]+) req\/s/),
        raw: stdout,
      });
    });
  });
}
