/**
 * Stripe's stripe-mock (github.com/stripe/stripe-mock): a stateless HTTP server that answers
 * the Stripe API from its OpenAPI spec and fixtures, checking every request's parameters. Built
 * like nats-server: `go install` from the Go module proxy at a pinned version, cached in
 * `.cache/bin/` under a versioned name. The Stripe adapter's test runs against it.
 */
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { buildOnce, CACHE_DIR } from './build-cache.ts';
import { run, spawnServer, stopServer } from './child-processes.ts';
import { findGo, goEnv, goInstall } from './go-toolchain.ts';
import { tcpProbe } from './readiness.ts';
import { freePort } from './start-server.ts';
import { defaultLog } from './text.ts';

export const STRIPE_MOCK_VERSION = 'v0.203.0';
const STRIPE_MOCK_MODULE = 'github.com/stripe/stripe-mock';

export async function ensureStripeMock(log: (line: string) => void = defaultLog): Promise<string> {
  const target = join(CACHE_DIR, `stripe-mock-${STRIPE_MOCK_VERSION}`);
  return buildOnce(target, `stripe-mock ${STRIPE_MOCK_VERSION}`, log, async (tmp) => {
    const go = await findGo();
    if (go === undefined) throw new Error('cannot build stripe-mock: no `go` found on PATH or in /usr/local/go/bin');
    log(`building stripe-mock ${STRIPE_MOCK_VERSION} (first run only, ~1 min)…`);
    await goInstall(go, STRIPE_MOCK_MODULE, STRIPE_MOCK_VERSION, 'stripe-mock', tmp);
    return undefined;
  });
}

export interface StripeMock {
  /** e.g. `http://127.0.0.1:12111` */
  url: string;
  stop(): Promise<void>;
}

/** stripe-mock's fixtures: one example object per resource (`payment_intent`, `refund`, …). */
export interface StripeFixtures {
  resources: Record<string, Record<string, unknown>>;
}

/** The fixtures stripe-mock answers from, as its module at the pinned version ships them (from the Go module cache or proxy). */
export async function bundledStripeFixtures(): Promise<StripeFixtures> {
  const go = await findGo();
  if (go === undefined) throw new Error('cannot read stripe-mock fixtures: no `go` found on PATH or in /usr/local/go/bin');
  const { Dir } = JSON.parse(await run(go, ['mod', 'download', '-json', `${STRIPE_MOCK_MODULE}@${STRIPE_MOCK_VERSION}`], { cwd: CACHE_DIR, env: goEnv({}) })) as { Dir: string };
  return JSON.parse(await readFile(join(Dir, 'embedded', 'openapi', 'fixtures3.json'), 'utf8')) as StripeFixtures;
}

/**
 * Builds stripe-mock if needed and starts it on a free loopback port (plain HTTP). `fixtures`:
 * changes to its bundled fixtures (stateless, it answers every call from them), e.g. a
 * PaymentIntent that `succeeded` instead of its `requires_payment_method`.
 */
export async function startStripeMock({
  log = defaultLog,
  readyTimeoutMs = 30_000,
  fixtures,
}: { log?: (line: string) => void; readyTimeoutMs?: number; fixtures?: (bundled: StripeFixtures) => StripeFixtures } = {}): Promise<StripeMock> {
  const binary = await ensureStripeMock(log);
  const port = await freePort();
  // stripe-mock also serves HTTPS, on :12112 unless told: a port of its own, so two can run at once.
  const args = ['-http-addr', `127.0.0.1:${port}`, '-https-addr', `127.0.0.1:${await freePort()}`];
  if (fixtures) {
    const path = join(await mkdtemp(join(tmpdir(), 'stripe-mock-')), 'fixtures.json');
    await writeFile(path, JSON.stringify(fixtures(await bundledStripeFixtures())));
    args.push('-fixtures', path);
  }
  const server = await spawnServer('stripe-mock', binary, args);
  const deadline = Date.now() + readyTimeoutMs;
  while (!(await tcpProbe(port))) {
    const status = server.exitStatus();
    if (status !== undefined) throw new Error(`stripe-mock ${status}:\n${server.tail.text()}`);
    if (Date.now() > deadline) {
      await stopServer(server);
      throw new Error(`stripe-mock did not listen on ${port} within ${readyTimeoutMs} ms:\n${server.tail.text()}`);
    }
    await sleep(100);
  }
  return { url: `http://127.0.0.1:${port}`, stop: () => stopServer(server) };
}
