import type { Context } from './context.ts';

/**
 * Per-request values set with `c.set()` and read with `c.get()`, declared by the app
 * (`new App<{ user: User }>()`) or by typed middleware (`createMiddleware<{ user: User }>()`).
 * This is the constraint (any object type, an interface too); an app that declares none has `{}`,
 * so `c.get('typo')` does not compile. `Record<string, unknown>` allows every key.
 */
export type Variables = object;

/**
 * Variables every context knows, whatever the app declares: the built-in `requestId` (set by
 * `requestId()`, so possibly absent). A library can add its own by augmenting this interface:
 * `declare module 'strata-stack' { interface ContextVariableMap { session?: Session } }`.
 */
export interface ContextVariableMap {
  requestId?: string;
}

/** A key `c.get()`/`c.set()` accept: one the app declared, or a built-in one. */
export type VariableKey<V> = (keyof V | keyof ContextVariableMap) & string;

/** The type of a variable: as the app declared it, else as `ContextVariableMap` does. */
export type VariableOf<V, K> = K extends keyof V
  ? V[K]
  : K extends keyof ContextVariableMap
    ? ContextVariableMap[K]
    : never;

/** Validated inputs, filled by `validate()`. */
export interface Inputs {
  body?: unknown;
  query?: unknown;
  params?: unknown;
  headers?: unknown;
  cookies?: unknown;
}

/** `next()` inside a middleware: runs the rest of the chain and resolves to its response. */
export type Next = () => Promise<Response>;

/**
 * What a handler may return: a Response, or a value the context turns into one (a string as
 * text, anything else as JSON). Not `undefined`: a handler with a path that returns nothing is a
 * type error (at run time it would be a 500). `{ then?: never }` keeps a promise of anything
 * from passing as an "object" (an async handler is checked against `Promise<HandlerResult>`).
 */
export type HandlerResult = Response | string | number | boolean | null | (object & { then?: never });

/** What a middleware may return: a response (it answers in place of the rest), or nothing after `next()`. */
export type MiddlewareResult = HandlerResult | undefined;

export type Handler<P extends string = string, V extends Variables = {}, I extends Inputs = Inputs> = (
  c: Context<P, V, I>,
) => HandlerResult | Promise<HandlerResult>;

export type Middleware<P extends string = string, V extends Variables = {}, I extends Inputs = Inputs> = (
  c: Context<P, V, I>,
  next: Next,
  // biome-ignore lint/suspicious/noConfusingVoidType: an async middleware that returns nothing is Promise<void>, one promise type for both its answers
) => MiddlewareResult | void | Promise<MiddlewareResult | void>;

/** The type-level marker a middleware carries to add validated inputs or variables to a route. */
export interface Typed<I extends Inputs = Inputs, V extends Variables = Variables> {
  readonly __inputs?: I;
  readonly __vars?: V;
}

// ---- path params, inferred from the path string -------------------------------------------

type StripPattern<S extends string> = S extends `${infer Name}{${string}}` ? Name : S;

type SegmentParams<Seg extends string> = Seg extends `:${infer Rest}`
  ? Rest extends `${infer Name}?`
    ? { [K in StripPattern<Name>]?: string }
    : Rest extends `${infer Name}{${string}}?`
      ? { [K in Name]?: string }
      : { [K in StripPattern<Rest>]: string }
  : Seg extends '*'
    ? { '*': string }
    : {};

type Simplify<T> = { [K in keyof T]: T[K] } & {};

type PathParamsOf<P extends string> = P extends `${infer Seg}/${infer Rest}`
  ? SegmentParams<Seg> & PathParamsOf<Rest>
  : SegmentParams<P>;

/**
 * The params object of a route path: `'/users/:id/posts/:post?'` gives
 * `{ id: string; post?: string }`, a trailing `*` gives `{ '*': string }`.
 */
export type PathParams<P extends string> = string extends P
  ? Record<string, string>
  : Simplify<PathParamsOf<P>>;

/**
 * `c.session`: the request's session once `session()` ran before the handler — the same object
 * as `c.get('session')`, whose values `session<T>()` types; here they are `unknown`.
 */
export interface RequestSession {
  readonly id: string;
  readonly isNew: boolean;
  readonly createdAt: number;
  get(key: string): unknown;
  has(key: string): boolean;
  set(key: string, value: unknown): void;
  delete(key: string): void;
  /** A new id for the same values (at login and every privilege change); the old one is destroyed. */
  regenerate(): Promise<void>;
  /** Ends the session: its values, its record and its cookie. */
  destroy(): Promise<void>;
}
