/**
 * RFC 9110 §8.3.1 media types: `type/subtype *( OWS ";" OWS parameter )`, case-insensitive type
 * and parameter names. Strict on purpose: a tab, a space or any other character inside the type
 * makes it invalid, so that `application/json\tx` cannot reach one parser while a validator
 * thinks it is another (Fastify CVE-2026-25223).
 */

import { isOws, isToken, trimOws } from '../gateway/http.ts';

export interface MediaType {
  /** `type/subtype`, lowercased. */
  essence: string;
  /** Parameters, names lowercased, quoted values unquoted. */
  params: Record<string, string>;
}

/** The parsed media type, or undefined when the header is absent or malformed. */
export function parseMediaType(header: string | null | undefined): MediaType | undefined {
  if (header === null || header === undefined) return undefined;
  const semi = header.indexOf(';');
  const essence = trimOws(semi === -1 ? header : header.slice(0, semi)).toLowerCase();
  const slash = essence.indexOf('/');
  if (slash <= 0 || !isToken(essence.slice(0, slash)) || !isToken(essence.slice(slash + 1))) return undefined;
  const params = Object.create(null) as Record<string, string>;
  let rest = semi === -1 ? '' : header.slice(semi + 1);
  while (rest !== '') {
    const next = splitParam(rest);
    if (next === undefined) return undefined;
    const [name, value, remaining] = next;
    if (name !== '' && !(name in params)) params[name] = value;
    rest = remaining;
  }
  return { essence, params };
}

/** Reads `name=value` (value a token or a quoted-string) up to the next ';'. */
function splitParam(input: string): [string, string, string] | undefined {
  const text = trimOwsStart(input);
  if (text === '') return ['', '', ''];
  if (text.charCodeAt(0) === 59 /* ; */) return ['', '', text.slice(1)];
  const eq = text.indexOf('=');
  if (eq <= 0) return undefined;
  const name = text.slice(0, eq).toLowerCase();
  if (!isToken(name)) return undefined;
  let i = eq + 1;
  let value = '';
  if (text.charCodeAt(i) === 34 /* " */) {
    i += 1;
    for (; i < text.length; i++) {
      const ch = text.charCodeAt(i);
      if (ch === 92 /* \ */ && i + 1 < text.length) {
        value += text[i + 1];
        i += 1;
      } else if (ch === 34) break;
      else value += text[i];
    }
    if (i >= text.length) return undefined; // unterminated quoted-string
    i += 1;
    const after = trimOwsStart(text.slice(i));
    if (after !== '' && after.charCodeAt(0) !== 59) return undefined;
    return [name, value, after === '' ? '' : after.slice(1)];
  }
  const semi = text.indexOf(';', i);
  value = trimOws(semi === -1 ? text.slice(i) : text.slice(i, semi));
  if (value === '' || !isToken(value)) return undefined;
  return [name, value, semi === -1 ? '' : text.slice(semi + 1)];
}

function trimOwsStart(s: string): string {
  let i = 0;
  while (i < s.length && isOws(s.charCodeAt(i))) i++;
  return s.slice(i);
}

/** Whether the essence is JSON: `application/json` or any `+json` suffix (RFC 6839). */
export function isJson(essence: string): boolean {
  return essence === 'application/json' || (essence.startsWith('application/') && essence.endsWith('+json'));
}
