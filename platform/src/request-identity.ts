import type { Actor } from '@happyride/domain';
import { GraphQLError } from 'graphql';
import type { IncomingHttpHeaders } from 'node:http';
import { bearerToken, InvalidTokenError, type TokenVerifier } from './identity.ts';
import { unauthenticated } from './graphql-errors.ts';

/**
 * The caller of an HTTP GraphQL request: null when no token was sent (each field then
 * decides whether it needs one); a token that is sent but invalid is refused outright,
 * with `UNAUTHENTICATED` and HTTP 401.
 */
export async function identify(headers: IncomingHttpHeaders, verify: TokenVerifier): Promise<Actor | null> {
  try {
    const token = bearerToken(headers.authorization);
    return token ? await verify(token) : null;
  } catch (error) {
    if (error instanceof InvalidTokenError) {
      throw new GraphQLError(error.message, { extensions: { code: 'UNAUTHENTICATED', http: { status: 401 } } });
    }
    throw error;
  }
}

/** For fields that need a caller: the actor, or `UNAUTHENTICATED`. */
export function requireActor(actor: Actor | null): Actor {
  if (!actor) throw unauthenticated();
  return actor;
}
