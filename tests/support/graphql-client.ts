import { DEV_JWT_SECRET, signToken, type Role } from '@happyride/platform';

export interface GraphQLResponse<T = Record<string, unknown>> {
  status: number;
  data?: T | null;
  errors?: Array<{ message: string; path?: string[]; extensions?: { code?: string } }>;
}

/** A real HTTP GraphQL client for the gateway, as an app would use it. */
export function graphqlClient(url: string) {
  return async function request<T = Record<string, unknown>>(
    query: string,
    { token, variables }: { token?: string; variables?: Record<string, unknown> } = {},
  ): Promise<GraphQLResponse<T>> {
    const response = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
      body: JSON.stringify({ query, variables }),
    });
    return { status: response.status, ...((await response.json()) as Omit<GraphQLResponse<T>, 'status'>) };
  };
}

export const tokenFor = (role: Role, id: string) => signToken({ id, role }, process.env.JWT_SECRET ?? DEV_JWT_SECRET);

export const codes = (response: GraphQLResponse) => response.errors?.map((error) => error.extensions?.code);

export { eventually } from './eventually.ts';
