import { NATS_ADMIN_USER, natsServiceUsers } from '@happyride/eventstore';
import { ensureNatsServer } from '@happyride/local-servers';
import { freePort } from '@happyride/local-servers/start-server';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { eventually, until } from '../support/eventually.ts';
import { CLUSTER_ROUTE_PASSWORD_VARIABLE, clusterNatsConfigFile, clusterNatsNodes, clusterRouteUrlVariable, composeNatsConfigFile, natsPasswordVariable } from '../../scripts/compose-nats-config.ts';

/** What compose hands each nats container: one password per user, and the cluster's route password and URLs (see docker-compose*.yml). */
const passwords = {
  ...Object.fromEntries([NATS_ADMIN_USER, ...natsServiceUsers].map((user) => [natsPasswordVariable(user), 'only-a-test'])),
  [CLUSTER_ROUTE_PASSWORD_VARIABLE]: 'only-a-test',
  ...Object.fromEntries(clusterNatsNodes.map((node) => [clusterRouteUrlVariable(node), `nats-route://route:only-a-test@${node}:6222`])),
};

describe('the compose NATS configs, checked by the real nats-server (-t)', () => {
  const files: Array<[string, URL]> = [['deploy/nats-server.conf', composeNatsConfigFile], ...clusterNatsNodes.map((node): [string, URL] => [`deploy/nats-cluster/${node}.conf`, clusterNatsConfigFile(node)])];
  it.each(files)('given %s and its password variables, when nats-server tests it, then it is valid', async (_, file) => {
    const natsServer = await ensureNatsServer(() => {});

    const run = spawnSync(natsServer, ['-t', '-c', fileURLToPath(file)], { env: { ...process.env, ...passwords }, encoding: 'utf8' });

    expect(`${run.stdout}${run.stderr}`).toMatch(/configuration file .* is valid/);
    expect(run.status).toBe(0);
  });
});

describe('the compose cluster routes, run by real nats-servers', () => {
  const running: ChildProcess[] = [];
  afterAll(async () => {
    await Promise.all(running.map((child) => new Promise<void>((resolve) => (child.exitCode !== null ? resolve() : (child.once('exit', () => resolve()), child.kill('SIGTERM'))))));
  });
  const routesOf = async (httpPort: number) => {
    const routez = (await (await fetch(`http://127.0.0.1:${httpPort}/routez`)).json()) as { routes?: Array<{ remote_name: string }> };
    return new Set((routez.routes ?? []).map((route) => route.remote_name));
  };

  it('given the three rendered node configs on loopback, then they route to each other, and a server without the route password is refused', async () => {
    const natsServer = await ensureNatsServer(() => {});
    const dir = await mkdtemp(join(tmpdir(), 'compose-routes-'));
    const ports = await Promise.all(clusterNatsNodes.map(async () => ({ client: await freePort(), http: await freePort(), route: await freePort() })));
    const portsOf = (node: string) => ports[clusterNatsNodes.indexOf(node as (typeof clusterNatsNodes)[number])] ?? ports[0]!;
    // The committed files as they are but for the addresses: the same cluster block, authorization and route variables.
    const onLoopback = (config: string, own: { client: number; http: number; route: number }, store: string) =>
      config
        .replace('listen: 0.0.0.0:4222', `listen: 127.0.0.1:${own.client}`)
        .replace('http: 127.0.0.1:8222', `http: 127.0.0.1:${own.http}`)
        .replace('store_dir: /data', `store_dir: ${JSON.stringify(store)}`)
        .replace('listen: 0.0.0.0:6222', `listen: 127.0.0.1:${own.route}`);
    const routeEnv = {
      ...passwords,
      ...Object.fromEntries(clusterNatsNodes.map((node) => [clusterRouteUrlVariable(node), `nats-route://route:only-a-test@127.0.0.1:${portsOf(node).route}`])),
    };
    for (const node of clusterNatsNodes) {
      const file = join(dir, `${node}.conf`);
      await writeFile(file, onLoopback(readFileSync(clusterNatsConfigFile(node), 'utf8'), portsOf(node), join(dir, node)));
      running.push(spawn(natsServer, ['-c', file], { env: { ...process.env, ...routeEnv }, stdio: 'ignore' }));
    }
    for (const node of clusterNatsNodes) {
      const others = clusterNatsNodes.filter((other) => other !== node).map((other) => `happyride-${other}`);
      await eventually(() => routesOf(portsOf(node).http).catch(() => new Set<string>()), (names) => others.every((name) => names.has(name)), { timeoutMs: 20_000, what: `${node}'s routes` });
    }

    // An intruder on the network: it knows the nodes' addresses, one route without credentials and one with a wrong password.
    const intruder = { client: await freePort(), route: await freePort() };
    const intruderConfig = join(dir, 'intruder.conf');
    await writeFile(
      intruderConfig,
      [
        'server_name: intruder',
        `listen: 127.0.0.1:${intruder.client}`,
        `cluster { name: happyride, listen: 127.0.0.1:${intruder.route}, routes: ["nats-route://127.0.0.1:${portsOf('nats-1').route}", "nats-route://route:guessed@127.0.0.1:${portsOf('nats-2').route}"] }`,
      ].join('\n'),
    );
    let intruderLog = '';
    const intruderProcess = spawn(natsServer, ['-c', intruderConfig], { stdio: ['ignore', 'pipe', 'pipe'] });
    running.push(intruderProcess);
    intruderProcess.stderr.on('data', (chunk: Buffer) => (intruderLog += chunk.toString()));
    intruderProcess.stdout.on('data', (chunk: Buffer) => (intruderLog += chunk.toString()));

    await until(() => (intruderLog.match(/Authorization Violation/g) ?? []).length >= 2, { timeoutMs: 20_000, what: 'both routes of the intruder refused' });
    for (const node of clusterNatsNodes) expect(await routesOf(portsOf(node).http)).not.toContain('intruder');
  }, 60_000);
});
