import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { services } from '../scripts/system.ts';
import { subgraphs } from '../schema/subgraphs.ts';

type Compose = { services: Record<string, { image?: string; command?: string[]; environment?: Record<string, string> }> };
const compose = parse(readFileSync(new URL('../docker-compose.yml', import.meta.url), 'utf8'), { merge: true }) as Compose;

describe('docker-compose.yml', () => {
  it('runs real MongoDB 7 and NATS 2.11 with JetStream', () => {
    expect(compose.services.mongodb?.image).toBe('mongo:7');
    expect(compose.services.nats?.image).toBe('nats:2.11');
    expect(compose.services.nats?.command).toContain('-js');
  });

  it.each(services.map((s) => [s.name, s.entry]))('given the service %s that npm start runs, then compose runs it too', (name, entry) => {
    expect(compose.services[name]?.command).toEqual(['node', '--import', 'tsx', entry]);
    expect(compose.services[name]?.environment).toMatchObject({ NATS_URL: 'nats://nats:4222', MONGODB_URL: 'mongodb://mongodb:27017' });
  });

  it('given every npm workspace, then the Dockerfile copies its package.json before npm ci', () => {
    const dockerfile = readFileSync(new URL('../Dockerfile', import.meta.url), 'utf8');
    const beforeInstall = dockerfile.slice(0, dockerfile.indexOf('RUN npm ci'));
    const rootPackage = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { workspaces: string[] };
    const workspaces = rootPackage.workspaces.flatMap((pattern) =>
      pattern.endsWith('/*')
        ? readdirSync(new URL(`../${pattern.slice(0, -2)}`, import.meta.url)).map((name) => `${pattern.slice(0, -2)}/${name}`)
        : [pattern],
    );
    for (const workspace of workspaces) expect(beforeInstall).toContain(`COPY ${workspace}/package.json ${workspace}/`);
  });

  it('points the gateway at every subgraph', () => {
    for (const entry of subgraphs) expect(compose.services.gateway?.environment?.[`${entry.envPrefix}_URL`]).toMatch(/^http:\/\//);
  });
});
