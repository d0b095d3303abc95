import { randomUUID } from 'node:crypto';
import { appendFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inject } from 'vitest';
import { startSystem, type RestartPolicy, type RunningSystem } from '../../scripts/system.ts';
import { natsUrl } from './own-event-log.ts';

/**
 * The whole system as real processes on free ports, against the test run's nats-server and
 * FerretDB (or the given ones), in a database of its own. Service logs go to a file named in
 * failures. The launcher restarts a service that crashes unasked, as under `npm start`
 * (`restarts: false` turns that off); a service stopped with `kill` stays down until `restart`.
 * What the launcher says is kept in `launcherEvents` (and in the log file).
 */
export async function startTestSystem(
  env: Record<string, string> = {},
  {
    without = [],
    restarts,
    runtime = 'source',
    natsUrl: nats = natsUrl(),
    mongoUrl = inject('mongoUrl'),
    replicas,
  }: {
    without?: string[];
    restarts?: Partial<RestartPolicy> | false;
    runtime?: 'source' | 'compiled';
    natsUrl?: string;
    mongoUrl?: string;
    /** Processes per service (see `startSystem`): `{ gateway: 2 }`. */
    replicas?: Record<string, number>;
  } = {},
): Promise<RunningSystem & { logFile: string; launcherEvents: readonly string[]; database: string; provider: 'simulated' | 'stripe' }> {
  const dir = join(tmpdir(), 'happyride-e2e');
  mkdirSync(dir, { recursive: true });
  const logFile = join(dir, `${randomUUID().slice(0, 8)}.log`);
  const launcherEvents: string[] = [];
  const database = env['MONGODB_DATABASE'] ?? `e2e_${randomUUID().slice(0, 8)}`;
  const system = await startSystem({
    natsUrl: nats,
    mongoUrl,
    ports: 'free',
    without,
    runtime,
    // Generous: on a shared 2-core machine under load, a Node process may take a minute to start.
    readyTimeoutMs: 240_000,
    ...(restarts === undefined ? {} : { restarts }),
    ...(replicas === undefined ? {} : { replicas }),
    onLauncherEvent: (message) => {
      launcherEvents.push(message);
      appendFileSync(logFile, `launcher ${message}\n`);
    },
    env: {
      MONGODB_DATABASE: database,
      LOG_LEVEL: 'debug',
      NODE_ENV: 'test',
      // Tests send bursts from few identities; the rate limit has a test of its own.
      RATE_LIMIT_PER_MINUTE: '60000',
      RATE_LIMIT_BURST: '10000',
      ...env,
    },
    onLine: (service, line) => appendFileSync(logFile, `${service} ${line}\n`),
  });
  // The database and the payment provider: what a test needs to read the provider's ledger (`money-conservation.ts`).
  return { ...system, logFile, launcherEvents, database, provider: env['PAYMENT_PROVIDER'] === 'stripe' ? 'stripe' : 'simulated' };
}
