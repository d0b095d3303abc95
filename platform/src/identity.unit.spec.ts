import { SignJWT } from 'jose';
import { describe, expect, it } from 'vitest';
import { DEV_JWT_SECRET } from './config.ts';
import { InvalidTokenError, signToken, tokenVerifier } from './identity.ts';

const SECRET = 'unit-test-secret-0123456789-abcdefghij';
const verify = tokenVerifier({ jwtSecret: SECRET, usesDevSecret: false });

/** A token with exactly the claims given (no defaults), signed with `secret`. */
const raw = (claims: Record<string, unknown>, secret = SECRET) =>
  new SignJWT(claims).setProtectedHeader({ alg: 'HS256' }).sign(new TextEncoder().encode(secret));
const inAnHour = () => Math.floor(Date.now() / 1000) + 3600;

async function refusal(token: Promise<string> | string, verifier = verify): Promise<string> {
  const error = await verifier(await token).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(InvalidTokenError);
  return (error as Error).message;
}

describe('tokenVerifier (HS256)', () => {
  it('given a signed token with sub, role and exp, then it names the actor', async () => {
    expect(await verify(await signToken({ id: 'p-1', role: 'passenger' }, SECRET))).toEqual({ id: 'p-1', role: 'passenger' });
  });

  it('given a token without exp, then it is refused with a message naming exp', async () => {
    expect(await refusal(raw({ sub: 'p1', role: 'passenger' }))).toBe('The bearer token has no `exp` claim: tokens must expire.');
  });

  it('given an expired token, then it has expired', async () => {
    expect(await refusal(raw({ sub: 'p1', role: 'passenger', exp: Math.floor(Date.now() / 1000) - 120 }))).toMatch(/has expired/);
  });

  it('given a token signed with another secret, then it is not valid', async () => {
    expect(await refusal(raw({ sub: 'p1', role: 'passenger', exp: inAnHour() }, 'another-secret-0123456789-abcdefghijkl'))).toBe('The bearer token is not valid.');
  });

  it.each([
    ['a space', 'p 1'],
    ['a NATS wildcard', 'p1.>'],
    ['65 characters', 'x'.repeat(65)],
    ['a newline', 'p1\n'],
  ])('given a sub with %s, then it is refused without echoing it', async (_case, sub) => {
    const message = await refusal(raw({ sub, role: 'passenger', exp: inAnHour() }));
    expect(message).toMatch(/`sub` must be 1 to 64 letters/);
    expect(message).not.toContain(sub);
  });

  it('given an unknown role or none, then it is refused', async () => {
    expect(await refusal(raw({ sub: 'p1', role: 'root', exp: inAnHour() }))).toMatch(/`role` must be one of/);
    expect(await refusal(raw({ sub: 'p1', exp: inAnHour() }))).toMatch(/`role` must be one of/);
  });

  it('given alg none, then it is not valid', async () => {
    const header = Buffer.from(JSON.stringify({ alg: 'none' })).toString('base64url');
    const body = Buffer.from(JSON.stringify({ sub: 'ops', role: 'admin', exp: inAnHour() })).toString('base64url');
    expect(await refusal(`${header}.${body}.`)).toBe('The bearer token is not valid.');
  });
});

describe('tokenVerifier with JWT_ISSUER and JWT_AUDIENCE', () => {
  const strict = tokenVerifier({ jwtSecret: SECRET, usesDevSecret: false, issuer: 'https://id.happyride.test', audience: 'happyride-api' });

  it('given the expected iss and aud, then it names the actor', async () => {
    const token = await signToken({ id: 'd1', role: 'driver' }, SECRET, { issuer: 'https://id.happyride.test', audience: 'happyride-api' });
    expect(await strict(token)).toEqual({ id: 'd1', role: 'driver' });
  });

  it('given another audience or none, then it is refused naming aud', async () => {
    expect(await refusal(signToken({ id: 'd1', role: 'driver' }, SECRET, { issuer: 'https://id.happyride.test', audience: 'other-api' }), strict)).toMatch(/`aud`/);
    expect(await refusal(signToken({ id: 'd1', role: 'driver' }, SECRET, { issuer: 'https://id.happyride.test' }), strict)).toMatch(/`aud`/);
  });

  it('given another issuer, then it is refused naming iss', async () => {
    expect(await refusal(signToken({ id: 'd1', role: 'driver' }, SECRET, { issuer: 'https://evil.test', audience: 'happyride-api' }), strict)).toMatch(/`iss`/);
  });

  it('given neither is configured, then a token carrying them is still accepted', async () => {
    const token = await signToken({ id: 'd1', role: 'driver' }, SECRET, { issuer: 'x', audience: 'y' });
    expect(await verify(token)).toEqual({ id: 'd1', role: 'driver' });
  });
});

describe('the development secret', () => {
  it('is at least 32 bytes, so it meets its own rule', () => {
    expect(Buffer.byteLength(DEV_JWT_SECRET)).toBeGreaterThanOrEqual(32);
  });
});
