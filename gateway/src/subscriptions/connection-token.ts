import { bearerToken, InvalidTokenError } from '@happyride/platform';

/**
 * The bearer token of a `connection_init` payload (`{ authorization: "Bearer <JWT>" }`), or
 * undefined when there is none to verify: no `authorization`, another scheme (`Basic …`), a
 * malformed bearer, or anything but a string where the header belongs. The socket is then
 * closed with 4403, as for a token that fails verification; never a throw (graphql-ws would
 * close with 4500).
 * @example connectionToken({ authorization: 'Basic dXNlcjpwYXNz' }) // → undefined
 */
export function connectionToken(params: Readonly<Record<string, unknown>> | undefined): string | undefined {
  const header = params?.['authorization'];
  if (typeof header !== 'string') return undefined;
  try {
    return bearerToken(header);
  } catch (error) {
    if (error instanceof InvalidTokenError) return undefined;
    throw error;
  }
}
