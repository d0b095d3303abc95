import { randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildAll, entryPoints } from '../../scripts/build.ts';
import { eventually, graphqlClient, tokenFor } from '../support/graphql-client.ts';
import { startTestSystem } from '../support/system.ts';

/** `npm start` runs the bundles in dist/ with plain node: the same ride must work on them. */
let system: Awaited<ReturnType<typeof startTestSystem>>;

beforeAll(async () => {
  await buildAll();
  system = await startTestSystem({}, { runtime: 'compiled' });
});
afterAll(() => system?.stop());

describe('the compiled build', () => {
  it('given the bundles in dist/, when read, then none of them imports TypeScript or tsx at run time', async () => {
    for (const name of Object.keys(entryPoints)) {
      const bundle = await readFile(new URL(`../../dist/${name}.js`, import.meta.url), 'utf8');
      expect(bundle, name).not.toMatch(/from\s+["'][^"']*\.ts["']/);
      expect(bundle, name).not.toMatch(/(from|import\()\s*["']tsx/);
    }
  });

  it('given every service started from dist/, when a passenger registers through the gateway, then the profile is served', async () => {
    const id = `p-${randomUUID().slice(0, 8)}`;
    const token = await tokenFor('passenger', id);
    const gql = graphqlClient(system.gatewayUrl);

    const registered = await gql('mutation { registerPassenger(input: { name: "Ada" }) { id name } }', { token });
    expect(registered.data).toEqual({ registerPassenger: { id, name: 'Ada' } });
    const seen = await eventually(
      () => gql<{ passenger: { name: string } | null }>('query ($id: ID!) { passenger(id: $id) { name } }', { token, variables: { id } }),
      (response) => response.data?.passenger?.name === 'Ada',
    );
    expect(seen.data?.passenger).toEqual({ name: 'Ada' });
  });
});
