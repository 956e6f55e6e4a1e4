import type { Context } from './context.ts';

/** Per-request values set with `c.set()` and read with `c.get()`, declared by the app. */
export type Variables = Record<string, unknown>;

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

/** What a handler may return: a Response, or a value the context turns into one. */
export type HandlerResult = Response | string | object | number | boolean | null | undefined;

export type Handler<P extends string = string, V extends Variables = Variables, I extends Inputs = Inputs> = (
  c: Context<P, V, I>,
) => HandlerResult | Promise<HandlerResult>;

export type Middleware<
  P extends string = string,
  V extends Variables = Variables,
  I extends Inputs = Inputs,
> = (c: Context<P, V, I>, next: Next) => HandlerResult | Promise<HandlerResult> | void | Promise<void>;

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
