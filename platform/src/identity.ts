import type { Actor, Role } from '@happyride/domain';

export type { Role } from '@happyride/domain';
import { createRemoteJWKSet, jwtVerify, SignJWT, type JWTVerifyGetKey } from 'jose';
import type { AuthConfig } from './config.ts';

const ROLES: readonly Role[] = ['passenger', 'driver', 'admin'];

/** A token was presented but cannot be trusted: expired, badly signed, or missing claims. */
export class InvalidTokenError extends Error {
  override readonly name = 'InvalidTokenError';
}

export type TokenVerifier = (token: string) => Promise<Actor>;

/**
 * Verifies `Authorization: Bearer <JWT>` tokens: HS256 with `JWT_SECRET`, or RS256 from a
 * JWKS URL when one is configured. `sub` is the actor's id and `role` one of passenger,
 * driver, admin.
 */
export function tokenVerifier(config: AuthConfig): TokenVerifier {
  const jwks: JWTVerifyGetKey | undefined = config.jwksUrl ? createRemoteJWKSet(new URL(config.jwksUrl)) : undefined;
  const secret = new TextEncoder().encode(config.jwtSecret);
  return async (token) => {
    let payload;
    try {
      ({ payload } = jwks
        ? await jwtVerify(token, jwks, { algorithms: ['RS256'] })
        : await jwtVerify(token, secret, { algorithms: ['HS256'] }));
    } catch (error) {
      const reason = error instanceof Error && 'code' in error && error.code === 'ERR_JWT_EXPIRED' ? 'has expired' : 'is not valid';
      throw new InvalidTokenError(`The bearer token ${reason}.`);
    }
    const { sub, role } = payload;
    if (typeof sub !== 'string' || sub.length === 0) throw new InvalidTokenError('The bearer token has no `sub` claim.');
    if (typeof role !== 'string' || !ROLES.includes(role as Role)) {
      throw new InvalidTokenError(`The bearer token's \`role\` must be one of ${ROLES.join(', ')}.`);
    }
    return { id: sub, role: role as Role };
  };
}

/** Extracts the token from an `Authorization` header value; undefined when there is none. */
export function bearerToken(header: string | undefined | null): string | undefined {
  if (!header) return undefined;
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
  if (!match?.[1]) throw new InvalidTokenError('The Authorization header must be `Bearer <token>`.');
  return match[1];
}

/**
 * Signs a development token with the shared secret.
 * @example await signToken({ id: 'p1', role: 'passenger' }, secret) // → 'eyJhbGciOi...'
 */
export async function signToken(actor: Actor, secret: string, { expiresIn = '12h' }: { expiresIn?: string } = {}): Promise<string> {
  return new SignJWT({ role: actor.role })
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setSubject(actor.id)
    .setIssuedAt()
    .setExpirationTime(expiresIn)
    .sign(new TextEncoder().encode(secret));
}
