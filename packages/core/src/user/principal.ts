/**
 * Principals from the user objects auth libraries already produce, shared by both adapters.
 *
 * `req.user` (Passport, express-jwt) or `request.user` (@fastify/jwt, @fastify/passport) rarely has
 * a `name`: Passport strategies give `username` (or an `id`), JWTs the standard `sub` claim. The
 * name is taken from, in order: a string `name`, a string `username`, a string `sub`, a string or
 * number `id`. A user object that has a string `name` is the principal itself (as before);
 * otherwise the principal is `{ name, details: user }`, so the original object stays reachable as
 * `principal.details` (Spring's `Authentication.getDetails()`). Only `name` ever reaches the wire
 * (CONNECTED `user-name`, user destinations); `details` never becomes a header.
 *
 * Adapters pass `principal` to choose explicitly: a property name (`'email'`) or a function.
 * An authenticated request (a user object is there) that yields no name is logged as a warning and
 * connects anonymously, never silently.
 */
import type { Logger } from '../logger';
import type { Principal } from '../options';

/** A property of the user object that holds the name, or a function from the request to the principal. */
export type PrincipalMapping<Req> = string | ((req: Req) => Principal | undefined | Promise<Principal | undefined>);

/** The name fields tried, in order, when no mapping is given. */
export const PRINCIPAL_NAME_FIELDS = ['name', 'username', 'sub', 'id'] as const;

/** The principal for a user object from an auth library, or undefined when it yields no name. */
export function principalFromUser(user: unknown, field?: string): Principal | undefined {
  if (user === null || typeof user !== 'object') return undefined;
  const record = user as Record<string, unknown>;
  if (field !== undefined) {
    const name = nameOf(record[field]);
    if (name === undefined) return undefined;
    return field === 'name' ? (record as Principal) : { name, details: user };
  }
  if (typeof record.name === 'string' && record.name !== '') return record as Principal;
  for (const key of PRINCIPAL_NAME_FIELDS) {
    const value = record[key];
    const name = key === 'id' ? nameOf(value) : typeof value === 'string' && value !== '' ? value : undefined;
    if (name !== undefined) return { name, details: user };
  }
  return undefined;
}

function nameOf(value: unknown): string | undefined {
  if (typeof value === 'string') return value === '' ? undefined : value;
  if (typeof value === 'number' && Number.isFinite(value)) return String(value);
  return undefined;
}

/**
 * Builds an adapter's principal resolver: `mapping` a function (used as is), a field name, or
 * undefined (the default fields). `userOf` reads the framework's user object from the request.
 * Without a function mapping, a user object that yields no name is logged as a warning.
 */
export function principalResolver<Req>(
  mapping: PrincipalMapping<Req> | undefined,
  userOf: (req: Req) => unknown,
  logger: Logger,
  describe: (req: Req) => Record<string, unknown>,
): (req: Req) => Principal | undefined | Promise<Principal | undefined> {
  if (typeof mapping === 'function') return mapping;
  if (mapping !== undefined && (typeof mapping !== 'string' || mapping === '')) {
    throw new TypeError(`principal must be a property name of the user object or a function (request) => principal, got ${JSON.stringify(mapping)}`);
  }
  return (req) => {
    const user = userOf(req);
    if (user === undefined || user === null || user === false) return undefined;
    const principal = principalFromUser(user, mapping);
    if (principal === undefined) {
      const tried = mapping === undefined ? PRINCIPAL_NAME_FIELDS.join(', ') : mapping;
      logger.warn(
        { ...describe(req), userFields: typeof user === 'object' ? Object.keys(user).join(',') : typeof user },
        `an authenticated upgrade has a user object without a name (tried ${tried}); it connects anonymously. Set the adapter's principal option`,
      );
    }
    return principal;
  };
}
