import type { Context } from './context.ts';
import { AppError } from './errors.ts';
import { HttpError } from './http-error.ts';
import { accessRule, authError, challenge, defaultRolesOf } from './middleware/auth/shared.ts';
import { createMiddleware, type TypedMiddleware } from './middleware/create-middleware.ts';

/**
 * Authorization guards: middleware that run after an auth middleware (`jwt()`, `bearer()`,
 * `basicAuth()`, `apiKey()`, or your own that sets `c.get('user')`). No user: 401. A user who may
 * not: 403. Each is an access rule for `new App({ access: 'deny-by-default' })`.
 */

/** The user an auth middleware set, or undefined. */
function userOf(c: Context): unknown {
  return (c as Context<string, { user?: unknown }>).get('user');
}

function unauthenticated(): HttpError {
  // No scheme is known here: the auth middleware before the guard sends the real challenge. A
  // guard without one still answers a 401 that says so.
  return new HttpError(401, 'Authentication required');
}

function forbidden(message: string): HttpError {
  return new HttpError(403, message);
}

/** Options of `requireRole()`, given as its last argument. */
export interface RoleOptions {
  /** Reads the user's roles. Default: `user.roles` (strings) and `user.role`. */
  rolesOf?: (user: unknown) => readonly string[];
}

/**
 * Lets through a user with any of `roles` (403 otherwise, 401 without a user).
 *
 * @example
 * app.delete('/users/:id', jwt({ secret }), requireRole('admin'), handler);
 */
export function requireRole(...args: [string, ...(string | RoleOptions)[]]): TypedMiddleware<{}> {
  let rolesOf = defaultRolesOf;
  const roles: string[] = [];
  for (const arg of args) {
    if (typeof arg === 'string' && arg !== '') roles.push(arg);
    else if (arg !== null && typeof arg === 'object' && typeof arg.rolesOf === 'function')
      rolesOf = arg.rolesOf;
    else
      throw AppError.authConfig(
        'requireRole()',
        'give role names (non-empty strings), then optionally { rolesOf }',
      );
  }
  if (roles.length === 0) throw AppError.authConfig('requireRole()', 'give at least one role');
  return accessRule(
    createMiddleware(async (c, next) => {
      const user = userOf(c as Context);
      if (user === undefined || user === null) throw unauthenticated();
      const has = rolesOf(user);
      if (!roles.some((r) => has.includes(r))) throw forbidden(`This needs the role ${roles.join(' or ')}`);
      return next();
    }),
  );
}

/**
 * Lets through a token whose `scope` (or `scp`) claim has every scope listed: after `jwt()`. A
 * token without them: 403 with `WWW-Authenticate: Bearer error="insufficient_scope"` (RFC 6750 §3.1).
 *
 * @example
 * app.post('/orders', jwt({ jwks }), requireScope('orders:write'), handler);
 */
export function requireScope(...scopes: [string, ...string[]]): TypedMiddleware<{}> {
  if (
    scopes.length === 0 ||
    scopes.some((s) => typeof s !== 'string' || !/^[\x21\x23-\x5b\x5d-\x7e]+$/.test(s))
  )
    throw AppError.authConfig('requireScope()', 'give scope tokens (RFC 6749 §3.3)');
  const wanted = scopes.join(' ');
  return accessRule(
    createMiddleware(async (c, next) => {
      const claims = (c as Context<string, { jwt?: Record<string, unknown> }>).get('jwt');
      if (claims === undefined || claims === null) throw unauthenticated();
      const raw = claims.scope ?? claims.scp;
      const has = typeof raw === 'string' ? raw.split(' ') : Array.isArray(raw) ? raw : [];
      if (!scopes.every((s) => has.includes(s))) {
        throw authError(
          403,
          `This needs the scope ${wanted}`,
          challenge('Bearer', { error: 'insufficient_scope', scope: wanted }),
        );
      }
      return next();
    }),
  );
}

/** A rule of a policy: whether `user` may do the action (to `resource`, when there is one). */
export type PolicyRule<U, R> = (user: U, resource: R) => boolean | Promise<boolean>;

/** A named set of rules (`definePolicy('post', { read, update })`). */
export interface Policy<U, R, A extends string> {
  readonly name: string;
  /** Whether `user` may do `action` to `resource`; false for an unknown action. A throwing rule rejects. */
  can(user: U | undefined | null, action: A, resource?: R): Promise<boolean>;
}

const policies = new Map<string, Record<string, PolicyRule<unknown, unknown>>>();

/**
 * Defines a policy: the rules for one kind of resource, one per action. `can(user, 'post:update',
 * post)` and `requirePermission('post:update', …)` find it by name. An action with no rule is
 * denied. Names are unique (a second `definePolicy` with the same name throws).
 *
 * @example
 * definePolicy('post', {
 *   read: () => true,
 *   update: (user: User, post: Post) => post.authorId === user.id || user.role === 'admin',
 * });
 */
export function definePolicy<U, R, A extends string>(
  name: string,
  rules: Record<A, PolicyRule<U, R>>,
): Policy<U, R, A> {
  if (typeof name !== 'string' || !/^[A-Za-z0-9_.-]+$/.test(name))
    throw AppError.policy(`a policy name is letters, digits, "_", "." and "-": ${JSON.stringify(name)}`);
  if (policies.has(name)) throw AppError.policy(`the policy ${name} is defined twice`);
  if (rules === null || typeof rules !== 'object')
    throw AppError.policy(`definePolicy('${name}', rules): rules is an object`);
  const own: Record<string, PolicyRule<unknown, unknown>> = Object.create(null);
  for (const [action, rule] of Object.entries(rules)) {
    if (typeof rule !== 'function') throw AppError.policy(`the rule ${name}:${action} is not a function`);
    own[action] = rule as PolicyRule<unknown, unknown>;
  }
  policies.set(name, own);
  return {
    name,
    can: (user, action, resource) => can(user, `${name}:${action}`, resource),
  };
}

/**
 * Whether `user` may do `permission` (`"policy:action"`) to `resource`. Deny by default: no
 * user, an unknown policy or action, or a rule that returns anything but `true` is `false`.
 *
 * @example
 * if (!(await can(c.get('user'), 'post:update', post))) throw new HttpError(403, 'Not yours');
 */
export async function can(user: unknown, permission: string, resource?: unknown): Promise<boolean> {
  if (user === undefined || user === null) return false;
  const rule = ruleOf(permission);
  if (rule === undefined) return false;
  return (await rule(user, resource)) === true;
}

function ruleOf(permission: string): PolicyRule<unknown, unknown> | undefined {
  if (typeof permission !== 'string') return undefined;
  const colon = permission.lastIndexOf(':');
  if (colon <= 0) return undefined;
  return policies.get(permission.slice(0, colon))?.[permission.slice(colon + 1)];
}

/** Options of `requirePermission()`. */
export interface PermissionOptions<R> {
  /**
   * Loads the resource the permission is about (from `c.params`), set as `c.get('resource')`;
   * `undefined` answers 404.
   */
  resource?: (c: Context) => R | undefined | Promise<R | undefined>;
}

/**
 * Lets through a user the policy allows (403 otherwise, 401 without a user). The policy must be
 * defined before: an unknown permission throws here, at startup, not at the first request.
 *
 * @example
 * app.put('/posts/:id', jwt({ secret }), requirePermission('post:update', { resource: (c) => posts.get(c.params.id) }), handler);
 */
export function requirePermission<R = undefined>(
  permission: string,
  options: PermissionOptions<R> = {},
): TypedMiddleware<{ resource: R }> {
  if (ruleOf(permission) === undefined)
    throw AppError.policy(
      `requirePermission('${String(permission)}'): no such policy and action; definePolicy() it first`,
    );
  const load = options.resource;
  return accessRule(
    createMiddleware<{ resource: R }>(async (c, next) => {
      const user = userOf(c as Context);
      if (user === undefined || user === null) throw unauthenticated();
      let resource: R | undefined;
      if (load !== undefined) {
        resource = await load(c as Context);
        if (resource === undefined) throw new HttpError(404, 'Not found');
        c.set('resource', resource);
      }
      if (!(await can(user, permission, resource))) throw forbidden('You are not allowed to do this');
      return next();
    }),
  );
}

/** Options of `requireOwner()`. */
export interface OwnerOptions {
  /** The user's id, compared with the owner's. Default: `user.id`, else `user.sub`. */
  userId?: (user: unknown) => unknown;
  /** Users let through whoever owns the resource (an admin). */
  bypass?: (user: unknown) => boolean;
  /** Answer 404 rather than 403 to non-owners, so they cannot tell the resource exists. */
  hide?: boolean;
}

function defaultUserId(user: unknown): unknown {
  if (user === null || typeof user !== 'object') return undefined;
  const u = user as { id?: unknown; sub?: unknown };
  return u.id ?? u.sub;
}

/**
 * Loads a resource and lets through only its owner: 404 when there is none, 403 (or 404 with
 * `hide`) for anyone else, 401 without a user. The resource is `c.get('resource')`.
 *
 * @example
 * app.patch('/notes/:id', auth, requireOwner((c) => notes.get(c.params.id), (note) => note.ownerId), (c) => c.json(c.get('resource')));
 */
export function requireOwner<R>(
  loadResource: (c: Context) => R | undefined | null | Promise<R | undefined | null>,
  ownerOf: (resource: R) => unknown,
  options: OwnerOptions = {},
): TypedMiddleware<{ resource: R }> {
  if (typeof loadResource !== 'function' || typeof ownerOf !== 'function')
    throw AppError.authConfig('requireOwner()', 'give loadResource(c) and ownerOf(resource)');
  const userId = options.userId ?? defaultUserId;
  const bypass = options.bypass;
  const hide = options.hide === true;
  return accessRule(
    createMiddleware<{ resource: R }>(async (c, next) => {
      const user = userOf(c as Context);
      if (user === undefined || user === null) throw unauthenticated();
      const resource = await loadResource(c as Context);
      if (resource === undefined || resource === null) throw new HttpError(404, 'Not found');
      if (bypass === undefined || bypass(user) !== true) {
        const owner = ownerOf(resource);
        const id = userId(user);
        if (!sameId(owner, id))
          throw hide ? new HttpError(404, 'Not found') : forbidden('This belongs to someone else');
      }
      c.set('resource', resource);
      return next();
    }),
  );
}

/** Ids match: both strings or numbers (or bigints), equal as text; nothing matches a missing id. */
function sameId(a: unknown, b: unknown): boolean {
  const ok = (v: unknown) => typeof v === 'string' || typeof v === 'number' || typeof v === 'bigint';
  if (!ok(a) || !ok(b) || a === '' || b === '') return false;
  return String(a) === String(b);
}
