/**
 * Least privilege in both compose files: every service holds only the secrets it uses (the table
 * in scripts/service-secrets.ts, itself checked against the code each service runs), each has a
 * MongoDB user of its own with the least role, the NATS cluster's routes authenticate, and `.env`
 * stays out of git and of the image.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { NATS_ADMIN_USER, natsServiceUsers } from '@happyride/eventstore';
import { services } from '../scripts/system.ts';
import {
  CLUSTER_ROUTE_PASSWORD_VARIABLE,
  CLUSTER_ROUTE_PORT,
  CLUSTER_ROUTE_USER,
  clusterNatsConfigFile,
  clusterNatsNodes,
  clusterRouteUrlVariable,
  natsPasswordVariable,
} from '../scripts/compose-nats-config.ts';
import { allowedSecretVariables, mongoPasswordVariable, mongoUsers, mongoUsersFile, renderMongoUsers, secretServices, serviceSecrets, type SecretService } from '../scripts/service-secrets.ts';

type Service = { image?: string; environment?: Record<string, string>; configs?: Array<{ source: string; target: string }>; entrypoint?: string[]; command?: string[] };
type Compose = { services: Record<string, Service>; configs: Record<string, { file?: string }> };
const read = (path: string) => readFileSync(new URL(`../${path}`, import.meta.url), 'utf8');
const composeFiles: Array<[string, Compose]> = ['docker-compose.yml', 'docker-compose.cluster.yml'].map((file) => [file, parse(read(file), { merge: true }) as Compose]);

/** The variables a text refers to (`${NAME}`, `${NAME:?…}`, `${NAME:-…}`; `$${…}` is a literal for the container's shell). */
const referencedVariables = (text: string) => new Set([...text.matchAll(/(?<!\$)\$\{([A-Z0-9_]+)/g)].map((match) => match[1] ?? ''));
const isSecret = (variable: string) => /PASSWORD|SECRET|KEY/.test(variable);
const secretsOf = (service: Service) => [...referencedVariables(JSON.stringify(service.environment ?? {}))].filter(isSecret).sort();

const allNatsPasswords = [NATS_ADMIN_USER, ...natsServiceUsers].map(natsPasswordVariable);
const allMongoPasswords = mongoUsers.map((user) => user.passwordVariable);

describe.each(composeFiles)('%s: least privilege', (_file, compose) => {
  it('given every service built from the app image, then the secrets table declares it', () => {
    const appServices = Object.entries(compose.services).filter(([, service]) => service.image === 'happyride-graph').map(([name]) => name);
    expect(appServices.sort()).toEqual([...secretServices].sort());
  });

  it.each(secretServices.map((name) => [name]))('given the service %s, then its environment holds exactly the secrets it uses, each its own', (name) => {
    const service = compose.services[name] ?? {};
    const env = service.environment ?? {};
    const uses = serviceSecrets[name];

    expect(secretsOf(service)).toEqual(allowedSecretVariables(name).sort());
    expect('JWT_SECRET' in env).toBe(uses.jwt);
    expect('MONGODB_URL' in env).toBe(uses.mongo !== null);
    expect('NATS_URL' in env).toBe(uses.nats !== null);
    // Its own MongoDB user (never the root user), and its own NATS user (the bootstrap step: the admin).
    if (uses.mongo) expect(env.MONGODB_URL).toMatch(new RegExp(`^mongodb://${name}:\\$\\{${mongoPasswordVariable(name)}:\\?[^}]*\\}@`));
    if (uses.nats) expect(env.NATS_URL).toMatch(new RegExp(`^nats://${uses.nats === 'admin' ? NATS_ADMIN_USER : name}:\\$\\{${uses.nats === 'admin' ? 'NATS_PASSWORD' : natsPasswordVariable(name)}:\\?`));
  });

  it('given the servers, then a NATS node holds NATS passwords only and a MongoDB member no NATS or JWT secret', () => {
    for (const [name, service] of Object.entries(compose.services)) {
      if (service.image === 'happyride-graph') continue;
      const secrets = secretsOf(service);
      if (service.image?.startsWith('nats:')) {
        expect(secrets.every((variable) => allNatsPasswords.includes(variable) || variable === CLUSTER_ROUTE_PASSWORD_VARIABLE), name).toBe(true);
      } else {
        expect(service.image, name).toBe('mongo:7');
        expect(secrets.every((variable) => ['MONGO_PASSWORD', 'MONGO_KEYFILE_SECRET', ...allMongoPasswords].includes(variable)), `${name}: ${secrets.join(', ')}`).toBe(true);
      }
    }
  });
});

describe('MongoDB users (deploy/mongo-users.js)', () => {
  it('given the secrets table, when the users script is rendered, then it equals the committed file (run `npm run nats:config` if not)', () => {
    expect(renderMongoUsers(), 'deploy/mongo-users.js is stale: run `npm run nats:config`').toBe(readFileSync(mongoUsersFile, 'utf8'));
  });

  it.each([
    ['a fresh server', false],
    ['a server that has the users already', true],
  ])('given %s, when the script runs, then every MongoDB-using service has one user with exactly its role on the app database, the query subgraphs read-only', (_, existing) => {
    const granted = new Map<string, { pwd: string; roles: unknown }>();
    const admin = {
      getUser: (user: string) => (existing ? { user } : null),
      createUser: ({ user, ...rest }: { user: string; pwd: string; roles: unknown }) => void granted.set(user, rest),
      updateUser: (user: string, rest: { pwd: string; roles: unknown }) => void granted.set(user, rest),
    };
    const env = Object.fromEntries(allMongoPasswords.map((variable) => [variable, `pw-of-${variable}`]));

    new Function('db', 'process', readFileSync(mongoUsersFile, 'utf8'))({ getSiblingDB: (name: string) => (name === 'admin' ? admin : null) }, { env });

    const expected = secretServices.filter((name) => serviceSecrets[name].mongo !== null);
    expect([...granted.keys()].sort()).toEqual(expected.sort());
    for (const name of expected) {
      expect(granted.get(name)).toEqual({ pwd: `pw-of-${mongoPasswordVariable(name)}`, roles: [{ role: serviceSecrets[name].mongo, db: 'happyride' }] });
    }
    expect(granted.get('profile-queries')?.roles).toEqual([{ role: 'read', db: 'happyride' }]);
    expect(granted.get('trip-queries')?.roles).toEqual([{ role: 'read', db: 'happyride' }]);
  });

  it('given a missing password, when the script runs, then it fails naming the variable', () => {
    const admin = { getUser: () => null, createUser: () => {}, updateUser: () => {} };
    const run = () => new Function('db', 'process', readFileSync(mongoUsersFile, 'utf8'))({ getSiblingDB: () => admin }, { env: {} });
    expect(run).toThrow(/MONGO_PROFILE_QUERIES_PASSWORD is not set/);
  });

  it('is run by the single mongodb service on its first start, and by mongo-init on the replica set', () => {
    const [[, single], [, cluster]] = composeFiles as [[string, Compose], [string, Compose]];
    expect(single.services.mongodb?.configs).toEqual([{ source: 'mongo-users.js', target: '/docker-entrypoint-initdb.d/10-users.js' }]);
    expect(single.configs['mongo-users.js']?.file).toBe('./deploy/mongo-users.js');
    expect(cluster.configs['mongo-users.js']?.file).toBe('./deploy/mongo-users.js');
    const init = cluster.services['mongo-init'];
    expect(init?.configs).toEqual([{ source: 'mongo-users.js', target: '/etc/mongo/mongo-users.js' }]);
    expect(init?.entrypoint?.join(' ')).toMatch(/replicaSet=rs0' \/etc\/mongo\/mongo-users\.js/);
    for (const variable of allMongoPasswords) {
      expect(single.services.mongodb?.environment?.[variable]).toBe(`\${${variable}:?set ${variable}}`);
      expect(init?.environment?.[variable]).toBe(`\${${variable}:?set ${variable}}`);
    }
  });
});

describe('the secrets table, checked against the code each service runs', () => {
  /** The files whose code decides what a service reads: its entry, and the shared runner it hands over to. */
  const sourcesOf = (name: SecretService): string[] => {
    const entry = name === 'bootstrap' ? 'scripts/bootstrap.ts' : services.find((service) => service.name === name)?.entry;
    if (!entry) throw new Error(`no entry for ${name}`);
    const main = read(entry);
    const runner = main.includes('runCommandSubgraph(') ? [read('platform/src/command-subgraph.ts')] : main.includes('runQuerySubgraph(') ? [read('platform/src/query-subgraph.ts')] : [];
    return [main, ...runner];
  };
  const anyOf = (sources: string[], pattern: RegExp) => sources.some((source) => pattern.test(source));

  it.each(secretServices.map((name) => [name]))('given %s, then the table says it uses MongoDB, NATS and the JWT secret exactly when its code reads them', (name) => {
    const sources = sourcesOf(name);
    const main = sources[0] ?? '';
    const uses = serviceSecrets[name];

    expect(anyOf(sources, /readCommonConfig\(/), 'reads every secret at once').toBe(false);
    expect(anyOf(sources, /readMongoConfig\(/)).toBe(uses.mongo !== null);
    expect(anyOf(sources, /readVerifierAuth\(/)).toBe(uses.jwt);
    // A query subgraph hears notices over NATS only when its definition names them.
    const nats = main.includes('runQuerySubgraph(') ? /cachedNotices:/.test(read(`subgraphs/${name}/src/server.ts`)) : anyOf(sources, /readNatsUrl\(/);
    expect(nats).toBe(uses.nats !== null);
  });

  it.each(secretServices.filter((name) => serviceSecrets[name].mongo === 'read').map((name) => [name]))('given the read-only %s, then its own code calls no MongoDB write', (name) => {
    const code = [read(`subgraphs/${name}/src/server.ts`), read('platform/src/query-subgraph.ts')];
    expect(anyOf(code, /\.(insertOne|insertMany|updateOne|updateMany|replaceOne|deleteOne|deleteMany|bulkWrite|createIndex|findOneAndUpdate)\(/)).toBe(false);
  });
});

describe('NATS cluster routes (docker-compose.cluster.yml)', () => {
  const [, cluster] = composeFiles[1] as [string, Compose];
  it.each(clusterNatsNodes.map((node) => [node]))('given %s, then its routes require the route user and dial the others with its password', (node) => {
    const config = readFileSync(clusterNatsConfigFile(node), 'utf8');
    const block = /cluster \{(.*)\}\n/.exec(config)?.[1] ?? '';
    expect(block).toContain(`authorization { user: ${JSON.stringify(CLUSTER_ROUTE_USER)}, password: $${CLUSTER_ROUTE_PASSWORD_VARIABLE}`);
    // No route URL written in the file (it would carry no credentials): each is a variable.
    expect(block).not.toMatch(/nats(-route)?:\/\//);
    const env = cluster.services[node]?.environment ?? {};
    expect(env[CLUSTER_ROUTE_PASSWORD_VARIABLE]).toBe(`\${${CLUSTER_ROUTE_PASSWORD_VARIABLE}:?set ${CLUSTER_ROUTE_PASSWORD_VARIABLE}}`);
    for (const other of clusterNatsNodes.filter((candidate) => candidate !== node)) {
      expect(block).toContain(`$${clusterRouteUrlVariable(other)}`);
      expect(env[clusterRouteUrlVariable(other)]).toBe(`nats-route://${CLUSTER_ROUTE_USER}:\${${CLUSTER_ROUTE_PASSWORD_VARIABLE}:?set ${CLUSTER_ROUTE_PASSWORD_VARIABLE}}@${other}:${CLUSTER_ROUTE_PORT}`);
    }
  });

  it('given .ci/run, then it sets every new secret for `docker compose config`', () => {
    const ciRun = read('.ci/run');
    for (const variable of [CLUSTER_ROUTE_PASSWORD_VARIABLE, ...allMongoPasswords]) expect(ciRun).toContain(`${variable}=`);
  });
});

describe('.env', () => {
  it.each(['.gitignore', '.dockerignore'])('is ignored by %s', (file) => {
    expect(read(file).split('\n').map((line) => line.trim())).toContain('.env');
  });
});
