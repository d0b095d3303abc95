import { envEnum } from '@happyride/platform';

/** What the gateway shows about itself: introspection, GraphiQL, Apollo Sandbox. */
export interface Exposure {
  introspection: boolean;
  graphiql: boolean;
  apolloSandbox: boolean;
}

/**
 * `GRAPHQL_INTROSPECTION`, `GRAPHIQL`, `APOLLO_SANDBOX`: each `on` or `off`; all on by
 * default, all off by default in production (each may still be turned on explicitly).
 */
export function readExposure(env: Record<string, string | undefined>, environment: string): Exposure {
  const fallback = environment === 'production' ? 'off' : 'on';
  const on = (name: string) => envEnum(env, name, ['on', 'off'], fallback) === 'on';
  return { introspection: on('GRAPHQL_INTROSPECTION'), graphiql: on('GRAPHIQL'), apolloSandbox: on('APOLLO_SANDBOX') };
}
