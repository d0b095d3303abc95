import { isValidId, type Actor, type Role } from '@happyride/domain';

export type { Role } from '@happyride/domain';
import { createRemoteJWKSet, errors, jwtVerify, SignJWT, type JWTVerifyGetKey, type JWTVerifyOptions } from 'jose';
import { createSecretKey, type KeyObject } from 'node:crypto';
import type { AuthConfig } from './config.ts';
import { cachedVerifier } from './verified-tokens.ts';

const ROLES: readonly Role[] = ['passenger', 'driver', 'admin'];

/** A token was presented but cannot be trusted: expired, badly signed, or missing claims. */
export class InvalidTokenError extends Error {
  override readonly name = 'InvalidTokenError';
}

/**
 * The token could not be checked because the key set (`JWT_JWKS_URL`) does not answer: the
 * caller is not at fault and may retry (`SERVICE_UNAVAILABLE`, never "invalid token").
 */
export class KeySetUnavailableError extends Error {
  override readonly name = 'KeySetUnavailableError';
  readonly retryAfterSeconds = 5;
}

export interface TokenVerifier {
  (token: string): Promise<Actor>;
  /**
   * The actor of a token this verifier has verified and still remembers (not expired), without
   * verifying anything; undefined otherwise. Optional: a verifier without it remembers nothing.
   */
  remembered?: (token: string) => Actor | undefined;
}

/** The HS256 key, imported once per process rather than per request. */
export const hs256Key = (secret: string): KeyObject => createSecretKey(Buffer.from(secret, 'utf8'));

/**
 * A remote key set whose outages are told apart from bad tokens: a token whose `kid` the set
 * lacks is invalid; a set that cannot be fetched (down, slow, not 200, not a key set) is
 * `KeySetUnavailableError`.
 */
function remoteKeySet(url: string): JWTVerifyGetKey {
  const remote = createRemoteJWKSet(new URL(url), { timeoutDuration: 3_000 });
  return async (header, token) => {
    try {
      return await remote(header, token);
    } catch (error) {
      if (error instanceof errors.JWKSNoMatchingKey || error instanceof errors.JWKSMultipleMatchingKeys) throw error;
      throw new KeySetUnavailableError('The token signing keys cannot be fetched right now: try again shortly.', { cause: error });
    }
  };
}

/** Why a token failed jose's checks, in words a client can act on (never the token itself). */
export function tokenFailureReason(error: unknown): string {
  if (error instanceof errors.JWTExpired) return 'The bearer token has expired.';
  if (error instanceof errors.JWTClaimValidationFailed) {
    if (error.claim === 'exp' && error.reason === 'missing') return 'The bearer token has no `exp` claim: tokens must expire.';
    if (error.claim === 'aud') return 'The bearer token is not for this service (its `aud` claim does not match).';
    if (error.claim === 'iss') return 'The bearer token was not issued by the expected issuer (its `iss` claim does not match).';
    return `The bearer token's \`${error.claim}\` claim is not valid.`;
  }
  return 'The bearer token is not valid.';
}

/**
 * Verifies `Authorization: Bearer <JWT>` tokens: HS256 with `JWT_SECRET`, or RS256 from a
 * JWKS URL when one is configured. Every token must carry `exp`; `iss` and `aud` must match
 * `JWT_ISSUER` / `JWT_AUDIENCE` when those are set. `sub` is the actor's id (an id as the
 * domain writes them) and `role` one of passenger, driver, admin.
 */
export function tokenVerifier(config: AuthConfig): TokenVerifier {
  const options: JWTVerifyOptions = {
    requiredClaims: ['exp'],
    ...(config.issuer ? { issuer: config.issuer } : {}),
    ...(config.audience ? { audience: config.audience } : {}),
  };
  const keySet = config.jwksUrl ? remoteKeySet(config.jwksUrl) : undefined;
  const secret = hs256Key(config.jwtSecret);
  const verify = (token: string) =>
    keySet ? jwtVerify(token, keySet, { ...options, algorithms: ['RS256'] }) : jwtVerify(token, secret, { ...options, algorithms: ['HS256'] });
  // A token seen before costs a lookup (see cachedVerifier); `exp` is required, so every entry ends.
  return cachedVerifier(async (token) => {
    let payload;
    try {
      ({ payload } = await verify(token));
    } catch (error) {
      if (error instanceof KeySetUnavailableError) throw error;
      throw new InvalidTokenError(tokenFailureReason(error));
    }
    return { actor: actorOf(payload), expiresAtMs: Number(payload.exp) * 1000 };
  });
}

/** The actor a verified payload names: a valid id in `sub`, a known `role`. */
export function actorOf({ sub, role }: { sub?: unknown; role?: unknown }): Actor {
  if (typeof sub !== 'string' || sub.length === 0) throw new InvalidTokenError('The bearer token has no `sub` claim.');
  if (!isValidId(sub)) throw new InvalidTokenError("The bearer token's `sub` must be 1 to 64 letters, digits, '_' or '-'.");
  if (typeof role !== 'string' || !ROLES.includes(role as Role)) {
    throw new InvalidTokenError(`The bearer token's \`role\` must be one of ${ROLES.join(', ')}.`);
  }
  return { id: sub, role: role as Role };
}

/** Extracts the token from an `Authorization` header value; undefined when there is none. */
export function bearerToken(header: string | undefined | null): string | undefined {
  if (!header) return undefined;
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
  if (!match?.[1]) throw new InvalidTokenError('The Authorization header must be `Bearer <token>`.');
  return match[1];
}

/**
 * Signs a development token with the shared secret (with `iss` / `aud` when given, as
 * `JWT_ISSUER` / `JWT_AUDIENCE` demand).
 * @example await signToken({ id: 'p1', role: 'passenger' }, secret) // → 'eyJhbGciOi...'
 */
export async function signToken(
  actor: Actor,
  secret: string,
  { expiresIn = '12h', issuer, audience }: { expiresIn?: string; issuer?: string | undefined; audience?: string | undefined } = {},
): Promise<string> {
  const jwt = new SignJWT({ role: actor.role })
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setSubject(actor.id)
    .setIssuedAt()
    .setExpirationTime(expiresIn);
  if (issuer) jwt.setIssuer(issuer);
  if (audience) jwt.setAudience(audience);
  return jwt.sign(hs256Key(secret));
}
