/**
 * Containment for logs: a thrown value can be anything — null, a Symbol, a frozen object, an
 * object whose getters throw, a Proxy whose every trap throws, an error whose `cause` is itself.
 * pino's error serializer writes into the object it is given (a frozen error made it throw) and
 * reads every getter, so whatever a user threw is logged through a plain copy made here.
 */

/** `value[key]`, or undefined if reading it throws. */
function readSafely(value: object, key: PropertyKey): unknown {
  try {
    return (value as Record<PropertyKey, unknown>)[key];
  } catch {
    return undefined;
  }
}

function stringField(value: object, key: string): string | undefined {
  const v = readSafely(value, key);
  return typeof v === 'string' ? v : undefined;
}

function constructorName(value: object): string | undefined {
  try {
    const ctor = (value as { constructor?: unknown }).constructor;
    const name = typeof ctor === 'function' ? ctor.name : undefined;
    return typeof name === 'string' && name !== '' ? name : undefined;
  } catch {
    return undefined;
  }
}

function describePrimitive(value: unknown): string {
  // String() takes every primitive, Symbols and BigInts included; objects never reach here.
  return typeof value === 'string' ? value : String(value);
}

const MAX_CAUSES = 5;

/**
 * A plain copy of a thrown value that any logger can serialize: its type, message, stack, code,
 * status and causes (at most five deep; a cycle is cut). pino's error serializer writes into the
 * object it is given (a frozen error made it throw) and reads every getter; this copy has none.
 */
export function loggableError(value: unknown): Record<string, unknown> {
  return loggable(value, new Set(), 0);
}

function loggable(value: unknown, seen: Set<unknown>, depth: number): Record<string, unknown> {
  // A null prototype: pino names the type from `constructor` when there is one, `name` otherwise.
  const out = Object.create(null) as Record<string, unknown>;
  if ((typeof value !== 'object' && typeof value !== 'function') || value === null) {
    out.name = value === null ? 'null' : typeof value;
    out.message = describePrimitive(value);
    return out;
  }
  seen.add(value);
  out.name = constructorName(value) ?? stringField(value, 'name') ?? 'Object';
  out.message = stringField(value, 'message') ?? '';
  const stack = stringField(value, 'stack');
  if (stack !== undefined) out.stack = stack;
  const code = readSafely(value, 'code');
  if (typeof code === 'string' || typeof code === 'number') out.code = code;
  const status = readSafely(value, 'status');
  if (typeof status === 'number') out.status = status;
  copyPrimitives(value, out);
  const cause = readSafely(value, 'cause');
  if (cause !== undefined) {
    if (seen.has(cause)) out.cause = '[circular]';
    else if (depth >= MAX_CAUSES) out.cause = '[more causes]';
    else out.cause = loggable(cause, seen, depth + 1);
  }
  return out;
}

const MAX_FIELDS = 16;

/** Other own fields with primitive values (`errno`, `syscall`, `path`...): a few, for diagnosis. */
function copyPrimitives(value: object, out: Record<string, unknown>): void {
  let keys: string[];
  try {
    keys = Object.keys(value);
  } catch {
    return;
  }
  let copied = 0;
  for (const key of keys) {
    if (copied >= MAX_FIELDS) break;
    if (key in out || key === 'cause') continue;
    const v = readSafely(value, key);
    if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') {
      out[key] = v;
      copied++;
    }
  }
}
