import { randomUUID } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildAll, entryPoints } from '../../scripts/build.ts';
import { eventually, graphqlClient, tokenFor } from '../support/graphql-client.ts';
import { startTestSystem } from '../support/system.ts';

/** What `npm ci --omit=dev` installs: every workspace's `dependencies`. */
async function productionDependencies(): Promise<string[]> {
  const root = JSON.parse(await readFile(new URL('../../package.json', import.meta.url), 'utf8')) as { workspaces: string[] };
  const manifests = await Promise.all(
    root.workspaces.map(async (pattern) => {
      const folders = pattern.endsWith('/*')
        ? (await readdir(new URL(`../../${pattern.slice(0, -2)}`, import.meta.url))).map((name) => `${pattern.slice(0, -2)}/${name}`)
        : [pattern];
      return Promise.all(folders.map(async (folder) => JSON.parse(await readFile(new URL(`../../${folder}/package.json`, import.meta.url), 'utf8')) as { dependencies?: Record<string, string> }));
    }),
  );
  return manifests.flat().flatMap((manifest) => Object.keys(manifest.dependencies ?? {}));
}

/** `npm start` runs the bundles in dist/ with plain node: the same ride must work on them. */
let system: Awaited<ReturnType<typeof startTestSystem>>;

beforeAll(async () => {
  await buildAll();
  system = await startTestSystem({}, { runtime: 'compiled' });
});
afterAll(() => system?.stop());

describe('the compiled build', () => {
  it('given the bundles in dist/, when read, then none imports TypeScript or tsx, and every package a service imports is a production dependency', async () => {
    const production = await productionDependencies();
    for (const name of Object.keys(entryPoints)) {
      const bundle = await readFile(new URL(`../../dist/${name}.js`, import.meta.url), 'utf8');
      expect(bundle, name).not.toMatch(/from\s+["'][^"']*\.ts["']/);
      expect(bundle, name).not.toMatch(/(from|import\()\s*["']tsx/);
      if (name === 'start') continue; // the local launcher (npm start) is not in the image
      const packages = [...bundle.matchAll(/from\s+"((?:@[^/"]+\/)?[^/".][^/"]*)[^"]*"/g)].map((m) => m[1]!).filter((p) => !p.startsWith('node:'));
      for (const pkg of packages) expect(production, `${name} imports ${pkg}`).toContain(pkg);
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
