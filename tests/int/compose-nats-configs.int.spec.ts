import { NATS_ADMIN_USER, natsServiceUsers } from '@happyride/eventstore';
import { ensureNatsServer } from '@happyride/local-servers';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { clusterNatsConfigFile, clusterNatsNodes, composeNatsConfigFile, natsPasswordVariable } from '../../scripts/compose-nats-config.ts';

/** What compose hands each nats container: one password per user (see docker-compose*.yml). */
const passwords = Object.fromEntries([NATS_ADMIN_USER, ...natsServiceUsers].map((user) => [natsPasswordVariable(user), 'only-a-test']));

describe('the compose NATS configs, checked by the real nats-server (-t)', () => {
  const files: Array<[string, URL]> = [['deploy/nats-server.conf', composeNatsConfigFile], ...clusterNatsNodes.map((node): [string, URL] => [`deploy/nats-cluster/${node}.conf`, clusterNatsConfigFile(node)])];
  it.each(files)('given %s and its password variables, when nats-server tests it, then it is valid', async (_, file) => {
    const natsServer = await ensureNatsServer(() => {});

    const run = spawnSync(natsServer, ['-t', '-c', fileURLToPath(file)], { env: { ...process.env, ...passwords }, encoding: 'utf8' });

    expect(`${run.stdout}${run.stderr}`).toMatch(/configuration file .* is valid/);
    expect(run.status).toBe(0);
  });
});
