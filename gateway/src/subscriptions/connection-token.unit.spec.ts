import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { notAStringAuthorization, otherSchemeAuthorization } from '../../../tests/support/hostile-connection-params.ts';
import { connectionToken } from './connection-token.ts';

describe('connectionToken', () => {
  it('given `Bearer <token>`, then the token', () => {
    fc.assert(
      fc.property(fc.stringMatching(/^[A-Za-z0-9._~+/=-]{1,200}$/), fc.constantFrom('Bearer', 'bearer', 'BEARER'), fc.constantFrom(' ', '  ', '\t'), (token, scheme, gap) => {
        expect(connectionToken({ authorization: `${scheme}${gap}${token}` })).toBe(token);
      }),
      { numRuns: 200 },
    );
  });

  it('given another scheme (Basic among them), a malformed bearer or a huge string, then no token, and no throw', () => {
    expect(connectionToken({ authorization: 'Basic dXNlcjpwYXNzd29yZA==' })).toBeUndefined();
    fc.assert(
      fc.property(otherSchemeAuthorization(1_000_000), (authorization) => {
        expect(connectionToken({ authorization })).toBeUndefined();
      }),
      { numRuns: 500 },
    );
  });

  it('given an object, array, number, boolean or null where the string belongs, or no authorization, then no token, and no throw', () => {
    fc.assert(
      fc.property(notAStringAuthorization, (authorization) => {
        expect(connectionToken({ authorization })).toBeUndefined();
      }),
      { numRuns: 300 },
    );
    expect(connectionToken({})).toBeUndefined();
    expect(connectionToken(undefined)).toBeUndefined();
  });
});
