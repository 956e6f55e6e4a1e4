/** A window as written in options, config and flags: ms as a number, or `500ms`, `10s`, `1m`, `1h`, `1d`, `s`. */
export type WindowSpec = number | string;

const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };
const WINDOW = /^([0-9]+(?:\.[0-9]+)?)?(ms|s|m|h|d)$/;

/** A window in ms from a `WindowSpec`; throws a RangeError that names the bad value. */
export function parseWindow(spec: WindowSpec): number {
  if (typeof spec === 'number') {
    if (Number.isFinite(spec) && spec > 0) return spec;
  } else {
    const match = WINDOW.exec(spec.trim());
    if (match !== null) {
      const ms = (match[1] === undefined ? 1 : Number(match[1])) * UNITS[match[2]!]!;
      if (ms > 0) return ms;
    }
  }
  throw new RangeError(
    `rate limit: window must be a positive number of ms or a duration like 10s, 1m, 1h, got ${JSON.stringify(spec)}`,
  );
}

/** `100/1m`, `10/s`, `5000/1h` → `{ limit, window }` (window in ms); throws a RangeError otherwise. */
export function parseRate(text: string): { limit: number; window: number } {
  const slash = text.indexOf('/');
  const count = slash === -1 ? '' : text.slice(0, slash).trim();
  if (!/^[0-9]+$/.test(count) || Number(count) < 1)
    throw new RangeError(`rate limit: expected N/WINDOW such as 100/1m or 10/s, got ${JSON.stringify(text)}`);
  return { limit: Number(count), window: parseWindow(text.slice(slash + 1)) };
}
