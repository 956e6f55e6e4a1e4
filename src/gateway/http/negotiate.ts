/**
 * Content-coding negotiation from `Accept-Encoding` (RFC 9110 §12.5.3).
 *
 * ```
 * Accept-Encoding = #( codings [ weight ] )
 * codings         = content-coding / "identity" / "*"
 * weight          = OWS ";" OWS "q=" qvalue
 * qvalue          = ( "0" [ "." 0*3DIGIT ] ) / ( "1" [ "." 0*3("0") ] )
 * ```
 *
 * One pass over the characters, no regular expression and no split: the header is bounded by
 * `maxHeaderSize`, and the cost stays linear in its length whatever it holds.
 */

import { TCHAR } from '../../gateway/http.ts';

function isOws(code: number): boolean {
  return code === 32 || code === 9;
}

/** The qvalue in `header[start, end)` in thousandths (0–1000), or -1 when it breaks the grammar. */
function parseQ(header: string, start: number, end: number): number {
  const len = end - start;
  if (len < 1 || len > 5) return -1;
  const first = header.charCodeAt(start);
  if (first !== 48 && first !== 49) return -1;
  if (len === 1) return first === 49 ? 1000 : 0;
  if (header.charCodeAt(start + 1) !== 46) return -1;
  let thousandths = 0;
  let scale = 100;
  for (let i = start + 2; i < end; i++) {
    const d = header.charCodeAt(i) - 48;
    if (d < 0 || d > 9) return -1;
    thousandths += d * scale;
    scale /= 10;
  }
  if (first === 49) return thousandths === 0 ? 1000 : -1;
  return thousandths;
}

/**
 * Picks the content coding for a response from the request's `Accept-Encoding`.
 *
 * - The highest q wins; among equal q, the earlier entry of `offered` (the server's preference).
 * - A coding not named takes the q of `*`, or 0 when there is no `*`.
 * - `identity` is acceptable unless `identity;q=0`, or `*;q=0` with no `identity` entry. Not
 *   named, it takes the q of `*`, else the lowest non-zero q in the header. It wins over a coding
 *   only with a strictly higher q (`gzip;q=0.5, identity` → identity).
 * - `x-gzip` counts as `gzip` (RFC 9110 §8.4.1.3). Names are case-insensitive.
 * - An absent or empty header, or a malformed one (a bad token, a parameter other than `q`, a
 *   qvalue outside the grammar), is treated as naming no coding: the answer is `identity`.
 * - Duplicate entries: the first one counts.
 *
 * Returns the chosen entry of `offered`, `'identity'`, or `null` when nothing offered is
 * acceptable and identity is excluded too. Then RFC 9110 §12.1 lets a server either answer 406
 * or disregard the header; strata's server sends identity anyway, as nginx and Caddy do
 * (a readable answer is more useful than an error), so `null` reaches only callers that want
 * to answer 406 themselves.
 *
 * @example
 * negotiateEncoding('gzip, deflate, br, zstd', ['zstd', 'br', 'gzip']); // 'zstd'
 * negotiateEncoding('br;q=0.8, gzip', ['br', 'gzip']);                 // 'gzip'
 * negotiateEncoding('identity;q=0', ['gzip']);                         // null
 */
export function negotiateEncoding<T extends string>(
  acceptEncoding: string | undefined,
  offered: readonly T[],
): T | 'identity' | null {
  if (acceptEncoding === undefined || acceptEncoding.length === 0) return 'identity';
  const header = acceptEncoding;
  const n = header.length;
  // q per offered coding in thousandths; -1 = not named.
  let q0 = -1;
  let q1 = -1;
  let q2 = -1;
  let q3 = -1;
  let qRest: number[] | undefined;
  if (offered.length > 4) qRest = new Array<number>(offered.length - 4).fill(-1);
  let qStar = -1;
  let qIdentity = -1;
  let qLowest = 1000;
  let i = 0;
  while (i < n) {
    // An element: OWS token OWS [ ";" OWS "q=" qvalue OWS ] then "," or the end.
    let code = header.charCodeAt(i);
    while (isOws(code) && i < n) code = header.charCodeAt(++i);
    if (i >= n) break;
    if (code === 44) {
      // An empty list element (RFC 9110 §5.6.1: recipients accept them).
      i++;
      continue;
    }
    const nameStart = i;
    while (i < n) {
      code = header.charCodeAt(i);
      if (code >= 128 || TCHAR[code] !== 1) break;
      i++;
    }
    const nameEnd = i;
    if (nameEnd === nameStart) return 'identity';
    while (i < n && isOws(header.charCodeAt(i))) i++;
    let q = 1000;
    if (i < n && header.charCodeAt(i) === 59) {
      i++;
      while (i < n && isOws(header.charCodeAt(i))) i++;
      const c = header.charCodeAt(i);
      if ((c !== 113 && c !== 81) || header.charCodeAt(i + 1) !== 61) return 'identity';
      i += 2;
      const qStart = i;
      while (i < n) {
        const d = header.charCodeAt(i);
        if (d === 44 || isOws(d)) break;
        i++;
      }
      q = parseQ(header, qStart, i);
      if (q === -1) return 'identity';
      while (i < n && isOws(header.charCodeAt(i))) i++;
    }
    if (i < n) {
      if (header.charCodeAt(i) !== 44) return 'identity';
      i++;
    }
    if (q > 0 && q < qLowest) qLowest = q;
    const name = header.slice(nameStart, nameEnd).toLowerCase();
    if (name === '*') {
      if (qStar === -1) qStar = q;
      continue;
    }
    if (name === 'identity') {
      if (qIdentity === -1) qIdentity = q;
      continue;
    }
    const coding = name === 'x-gzip' ? 'gzip' : name;
    const index = offered.indexOf(coding as T);
    if (index === 0) {
      if (q0 === -1) q0 = q;
    } else if (index === 1) {
      if (q1 === -1) q1 = q;
    } else if (index === 2) {
      if (q2 === -1) q2 = q;
    } else if (index === 3) {
      if (q3 === -1) q3 = q;
    } else if (index > 3 && qRest![index - 4] === -1) qRest![index - 4] = q;
  }
  const star = qStar === -1 ? 0 : qStar;
  let best = -1;
  let bestQ = 0;
  for (let k = 0; k < offered.length; k++) {
    const named = k === 0 ? q0 : k === 1 ? q1 : k === 2 ? q2 : k === 3 ? q3 : qRest![k - 4]!;
    const q = named === -1 ? star : named;
    if (q > bestQ) {
      bestQ = q;
      best = k;
    }
  }
  // RFC 9110 §12.5.3: identity is acceptable unless excluded by identity;q=0 or by *;q=0; `*`
  // matches every coding not listed, identity included. Not named at all, identity ranks with
  // the lowest non-zero q listed (as the `negotiator` package does): `br;q=0.5` still asks for
  // br rather than identity.
  const identity = qIdentity !== -1 ? qIdentity : qStar !== -1 ? qStar : qLowest;
  if (best !== -1 && bestQ >= identity) return offered[best]!;
  if (identity > 0) return 'identity';
  return null;
}
