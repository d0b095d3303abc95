/** Whether a started server answers yet: probes, and waiting for one while the process lives. */
import { connect as netConnect } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { MongoClient } from 'mongodb';
import { connect as natsConnect } from '@nats-io/transport-node';
import { jetstreamManager } from '@nats-io/jetstream';
import { natsServerOptions } from '@happyride/eventstore/nats';
import { stopServer, type Managed } from './child-processes.ts';

export function tcpProbe(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = netConnect({ host: '127.0.0.1', port });
    socket.setTimeout(1_000);
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('timeout', () => {
      socket.destroy();
      resolve(false);
    });
    socket.once('error', () => resolve(false));
  });
}

export async function natsReady(url: string): Promise<void> {
  const nc = await natsConnect({ ...natsServerOptions(url), reconnect: false, timeout: 2_000 });
  try {
    const jsm = await jetstreamManager(nc, { timeout: 2_000 });
    await jsm.getAccountInfo();
  } finally {
    await nc.close();
  }
}

export async function mongoReady(url: string, port: number): Promise<void> {
  if (!(await tcpProbe(port))) throw new Error(`nothing accepts connections on 127.0.0.1:${port} yet`);
  const client = new MongoClient(url, {
    directConnection: true,
    serverSelectionTimeoutMS: 2_000,
    connectTimeoutMS: 2_000,
  });
  try {
    await client.connect();
    await client.db('admin').command({ ping: 1 });
  } finally {
    await client.close();
  }
}

export class ServerStartError extends Error {
  constructor(
    message: string,
    readonly portInUse: boolean,
  ) {
    super(message);
  }
}

/** Polls `probe` until it succeeds, the process dies or the timeout hits. */
export async function waitReady(server: Managed, probe: () => Promise<void>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (let delay = 50; ; delay = Math.min(delay * 2, 500)) {
    const status = server.exitStatus();
    if (status !== undefined) {
      const output = server.tail.text();
      throw new ServerStartError(
        `${server.name} ${status} before it was ready. Last output:\n${output}`,
        /address already in use|bind: /i.test(output),
      );
    }
    try {
      await probe();
      return;
    } catch (err) {
      lastError = err;
    }
    if (Date.now() >= deadline) break;
    await Promise.race([sleep(delay), server.exited]);
  }
  const reason = lastError instanceof Error ? lastError.message : String(lastError);
  await stopServer(server);
  throw new ServerStartError(
    `${server.name} did not answer within ${timeoutMs} ms (last probe error: ${reason}). Last output:\n${server.tail.text()}`,
    false,
  );
}
