import { exportJWK, generateKeyPair, SignJWT, type CryptoKey } from 'jose';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../../local-servers/src/start-server.ts';
import { InvalidTokenError, KeySetUnavailableError, tokenVerifier } from './identity.ts';

/**
 * RS256 tokens checked against a key set served by a real HTTP server on loopback (the remote
 * party, as an identity provider would serve it), and against one that is down or broken.
 */
const issuer = 'https://id.happyride.test';
const audience = 'happyride-api';
let signingKey: CryptoKey;
let server: Server;
let baseUrl: string;
let answer: 'keys' | 'error' = 'keys';

beforeAll(async () => {
  const pair = await generateKeyPair('RS256');
  signingKey = pair.privateKey;
  const jwk = { ...(await exportJWK(pair.publicKey)), kid: 'k1', alg: 'RS256', use: 'sig' };
  server = createServer((req, res) => {
    if (answer === 'error') return void res.writeHead(500).end('oops');
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys: [jwk] }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

const rs256 = (kid: string, claims: Record<string, unknown> = { role: 'driver' }) =>
  new SignJWT(claims).setProtectedHeader({ alg: 'RS256', kid }).setSubject('d1').setIssuer(issuer).setAudience(audience).setExpirationTime('5m').sign(signingKey);

async function failure(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => {
      throw new Error('expected the token to be refused');
    },
    (error: unknown) => error,
  );
}

describe('tokenVerifier with a remote key set (JWT_JWKS_URL)', () => {
  it('given a token signed by a key of the set, then it names the actor', async () => {
    const verify = tokenVerifier({ jwtSecret: 'unused', usesDevSecret: false, jwksUrl: `${baseUrl}/jwks.json`, issuer, audience });
    expect(await verify(await rs256('k1'))).toEqual({ id: 'd1', role: 'driver' });
  });

  it('given a token whose kid is not in the set, then it is invalid (not an outage)', async () => {
    const verify = tokenVerifier({ jwtSecret: 'unused', usesDevSecret: false, jwksUrl: `${baseUrl}/jwks.json`, issuer, audience });
    expect(await failure(verify(await rs256('k-unknown')))).toBeInstanceOf(InvalidTokenError);
  });

  it('given a key set that answers 500, then KeySetUnavailableError with a retry hint, not "invalid token"', async () => {
    answer = 'error';
    try {
      const verify = tokenVerifier({ jwtSecret: 'unused', usesDevSecret: false, jwksUrl: `${baseUrl}/jwks.json`, issuer, audience });
      const error = await failure(verify(await rs256('k1')));
      expect(error).toBeInstanceOf(KeySetUnavailableError);
      expect((error as KeySetUnavailableError).retryAfterSeconds).toBeGreaterThan(0);
    } finally {
      answer = 'keys';
    }
  });

  it('given a key set whose server is down, then KeySetUnavailableError', async () => {
    const nobody = await freePort();
    const verify = tokenVerifier({ jwtSecret: 'unused', usesDevSecret: false, jwksUrl: `http://127.0.0.1:${nobody}/jwks.json`, issuer, audience });
    expect(await failure(verify(await rs256('k1')))).toBeInstanceOf(KeySetUnavailableError);
  });
});
