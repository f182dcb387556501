/**
 * principalFromUser: the name a user object from an auth library yields, in order name, username,
 * sub, id; the original object kept as `details`. (The adapters' end-to-end principal tests are in
 * packages/express and packages/fastify.)
 */
import { principalFromUser } from '../../src';

describe('principalFromUser', () => {
  it('uses a user object with a string name as the principal itself', () => {
    const user = { name: 'ada', roles: ['admin'] };
    expect(principalFromUser(user)).toBe(user);
  });

  it('takes username (Passport), then sub (JWT), then id, and keeps the object as details', () => {
    const passport = { username: 'ada', sub: 'x', id: 1 };
    expect(principalFromUser(passport)).toEqual({ name: 'ada', details: passport });
    const jwt = { sub: 'auth0|42', iat: 1 };
    expect(principalFromUser(jwt)).toEqual({ name: 'auth0|42', details: jwt });
    expect(principalFromUser({ id: 42 })).toEqual({ name: '42', details: { id: 42 } });
    expect(principalFromUser({ id: 'u-7' })).toEqual({ name: 'u-7', details: { id: 'u-7' } });
  });

  it('skips empty or non-string names', () => {
    expect(principalFromUser({ name: '', username: 'ada' })).toEqual({ name: 'ada', details: { name: '', username: 'ada' } });
    expect(principalFromUser({ name: 7, sub: 3, id: Number.NaN })).toBeUndefined();
    expect(principalFromUser({ roles: [] })).toBeUndefined();
  });

  it('gives nothing for a missing or non-object user', () => {
    expect(principalFromUser(undefined)).toBeUndefined();
    expect(principalFromUser(null)).toBeUndefined();
    expect(principalFromUser('ada')).toBeUndefined();
  });

  it('reads only the named field when one is given', () => {
    expect(principalFromUser({ name: 'ada', email: 'ada@example.com' }, 'email')).toEqual({ name: 'ada@example.com', details: { name: 'ada', email: 'ada@example.com' } });
    expect(principalFromUser({ name: 'ada' }, 'email')).toBeUndefined();
  });
});
