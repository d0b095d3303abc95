import type { Actor } from '@happyride/domain';
import { GraphQLError } from 'graphql';
import type { IncomingHttpHeaders } from 'node:http';
import { bearerToken, InvalidTokenError, KeySetUnavailableError, type TokenVerifier } from './identity.ts';
import { unauthenticated } from './graphql-errors.ts';

/**
 * The caller of an HTTP GraphQL request: null when no token was sent (each field then
 * decides whether it needs one); a token that is sent but invalid is refused outright,
 * with `UNAUTHENTICATED` and HTTP 401; one that cannot be checked because the key set does
 * not answer, with `SERVICE_UNAVAILABLE`, HTTP 503 and a retry hint.
 */
export async function identify(headers: IncomingHttpHeaders, verify: TokenVerifier): Promise<Actor | null> {
  try {
    const token = bearerToken(headers.authorization);
    return token ? await verify(token) : null;
  } catch (error) {
    if (error instanceof InvalidTokenError) {
      throw new GraphQLError(error.message, { extensions: { code: 'UNAUTHENTICATED', http: { status: 401 } } });
    }
    if (error instanceof KeySetUnavailableError) throw keySetUnavailable(error);
    throw error;
  }
}

/** For fields that need a caller: the actor, or `UNAUTHENTICATED`. */
export function requireActor(actor: Actor | null): Actor {
  if (!actor) throw unauthenticated();
  return actor;
}

export function keySetUnavailable(error: KeySetUnavailableError): GraphQLError {
  const retryAfterSeconds = error.retryAfterSeconds;
  return new GraphQLError(error.message, {
    extensions: {
      code: 'SERVICE_UNAVAILABLE',
      retryAfterSeconds,
      http: { status: 503, headers: new Map([['retry-after', String(retryAfterSeconds)]]) },
    },
  });
}
