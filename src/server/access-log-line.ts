/**
 * The text of an access line: nginx's escaping, its `$time_local`, and the combined format.
 * Plain functions, shared by the server's access log and its tests.
 */

// nginx's escaping of variables in log lines (escape=default): `"`, `\`, control characters and
// bytes above 0x7e become \xHH, so a request target or a User-Agent cannot forge a line (CWE-117).
const NEEDS_ESCAPE = /[^ !#-[\]-~]/;

/** A value as it may appear between quotes in a combined line; `-` for none. */
export function escapeLogValue(value: string | undefined): string {
  if (value === undefined || value === '') return '-';
  if (!NEEDS_ESCAPE.test(value)) return value;
  let out = '';
  for (let i = 0; i < value.length; i++) {
    const code = value.charCodeAt(i);
    if (code === 0x22 || code === 0x5c || code < 0x20 || code > 0x7e) {
      if (code > 0xff) out += `\\u${code.toString(16).padStart(4, '0')}`;
      else out += `\\x${code.toString(16).toUpperCase().padStart(2, '0')}`;
    } else out += value[i];
  }
  return out;
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

function pad2(n: number): string {
  return n < 10 ? `0${n}` : String(n);
}

/** nginx's `$time_local`: `01/Dec/2026:19:26:04 +0000`. */
export function timeLocal(date: Date): string {
  const offset = -date.getTimezoneOffset();
  const sign = offset < 0 ? '-' : '+';
  const abs = Math.abs(offset);
  return `${pad2(date.getDate())}/${MONTHS[date.getMonth()]}/${date.getFullYear()}:${pad2(date.getHours())}:${pad2(
    date.getMinutes(),
  )}:${pad2(date.getSeconds())} ${sign}${pad2(Math.floor(abs / 60))}${pad2(abs % 60)}`;
}

/** One request, as logged. */
export interface AccessRecord {
  remote: string;
  method: string;
  url: string;
  protocol: string;
  status: number;
  bytes: number;
  ms: number;
  referer: string | undefined;
  userAgent: string | undefined;
  requestId: string | undefined;
  /** The upstream that answered a proxied request (src/proxy/), else undefined. */
  upstream?: string | undefined;
}

/**
 * The combined line (`$remote_addr - - [$time_local] "$request" $status $body_bytes_sent
 * "$http_referer" "$http_user_agent"`) followed by the latency in ms and the request id.
 */
export function combinedLine(r: AccessRecord, time: string): string {
  const request = r.method === '' ? '-' : escapeLogValue(`${r.method} ${r.url} ${r.protocol}`);
  return `${r.remote === '' ? '-' : r.remote} - - [${time}] "${request}" ${r.status} ${r.bytes} "${escapeLogValue(
    r.referer,
  )}" "${escapeLogValue(r.userAgent)}" ${r.ms.toFixed(3)} "${escapeLogValue(r.requestId)}"${
    r.upstream === undefined ? '' : ` "${escapeLogValue(r.upstream)}"`
  }\n`;
}
