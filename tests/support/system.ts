import { randomUUID } from 'node:crypto';
import { appendFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inject } from 'vitest';
import { startSystem, type RunningSystem } from '../../scripts/system.ts';
import { natsUrl } from './own-event-log.ts';

/**
 * The whole system as real processes on free ports, against the test run's nats-server and
 * FerretDB, in a database of its own. Service logs go to a file named in failures.
 */
export async function startTestSystem(
  env: Record<string, string> = {},
  { without = [] }: { without?: string[] } = {},
): Promise<RunningSystem & { logFile: string }> {
  const dir = join(tmpdir(), 'happyride-e2e');
  mkdirSync(dir, { recursive: true });
  const logFile = join(dir, `${randomUUID().slice(0, 8)}.log`);
  const system = await startSystem({
    natsUrl: natsUrl(),
    mongoUrl: inject('mongoUrl'),
    ports: 'free',
    // Seven Node processes compiling TypeScript at once on a busy 2-core machine can take minutes.
    readyTimeoutMs: 240_000,
    without,
    env: {
      MONGODB_DATABASE: `e2e_${randomUUID().slice(0, 8)}`,
      LOG_LEVEL: 'debug',
      NODE_ENV: 'test',
      // Tests send bursts from few identities; the rate limit has a test of its own.
      RATE_LIMIT_PER_MINUTE: '60000',
      RATE_LIMIT_BURST: '10000',
      ...env,
    },
    onLine: (service, line) => appendFileSync(logFile, `${service} ${line}\n`),
  });
  return { ...system, logFile };
}
