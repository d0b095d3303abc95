import fc from 'fast-check';

/** An `authorization` that is a string but not `Bearer <token>`: another scheme, a malformed bearer, noise. */
export const otherSchemeAuthorization = (maxHugeLength = 60_000): fc.Arbitrary<string> =>
  fc.oneof(
    fc.constant('Basic dXNlcjpwYXNzd29yZA=='),
    fc
      .tuple(fc.constantFrom('Basic', 'Digest', 'Token', 'Negotiate', 'JWT', 'Bearer:', 'Bearerx', 'bearer,', 'NTLM'), fc.constantFrom(' ', '  ', '\t'), fc.string({ maxLength: 80 }))
      .map(([scheme, gap, rest]) => `${scheme}${gap}${rest}`),
    // `Bearer` with no token, or with more than one word
    fc.constantFrom('Bearer', 'Bearer ', 'Bearer\t', ' Bearer'),
    fc.tuple(fc.stringMatching(/^[A-Za-z0-9._-]{1,40}$/), fc.stringMatching(/^[A-Za-z0-9._-]{1,40}$/)).map(([a, b]) => `Bearer ${a} ${b}`),
    fc.string({ maxLength: 200 }).filter((s) => !/^Bearer\s+\S+\s*$/i.test(s)),
    fc.integer({ min: 1_000, max: maxHugeLength }).map((n) => `Basic ${'A'.repeat(n)}`),
  );

/** An `authorization` where a string belongs but something else was sent. */
export const notAStringAuthorization: fc.Arbitrary<unknown> = fc.oneof(
  fc.double(),
  fc.integer(),
  fc.boolean(),
  fc.constant(null),
  fc.array(fc.string(), { maxLength: 3 }).map((parts) => ['Bearer', ...parts]),
  fc.dictionary(fc.string({ maxLength: 10 }), fc.jsonValue(), { maxKeys: 3 }),
  fc.constant({ $ne: '' }),
);

/**
 * `connection_init` payloads a hostile client might send: `{ authorization: <other scheme or not a string> }`,
 * or a payload that is not an object at all (graphql-ws itself refuses those with 4400).
 */
export const hostileConnectionInit = (maxHugeLength?: number): fc.Arbitrary<{ payload: unknown; refusedByGraphqlWs: boolean }> =>
  fc.oneof(
    fc.oneof(otherSchemeAuthorization(maxHugeLength), notAStringAuthorization).map((authorization) => ({ payload: { authorization }, refusedByGraphqlWs: false })),
    fc.oneof(fc.integer(), fc.string({ maxLength: 20 }), fc.boolean(), fc.array(fc.jsonValue(), { maxLength: 3 })).map((payload) => ({ payload, refusedByGraphqlWs: true })),
  );
