/**
 * Tokens, floods and the metrics port, through the real gateway process. Only the gateway
 * runs here (token checks and rate limits happen before any subgraph is asked); its
 * subgraph URLs point at closed loopback ports.
 */
import { DEV_JWT_SECRET, signToken } from '@happyride/platform';
import fc from 'fast-check';
import { SignJWT } from 'jose';
import { spawn, type ChildProcess } from 'node:child_process';
import { appendFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { subgraphs as schemaSubgraphs } from '../../schema/subgraphs.ts';
import { freePort } from '@happyride/local-servers';
import { codes, graphqlClient } from '../support/graphql-client.ts';
import { until } from '../support/eventually.ts';
import { natsUrl } from '../support/own-event-log.ts';
import { rawSocket } from '../support/websocket.ts';

const SECRET = 'e2e-identity-secret-0123456789-abcdefghij';
const AUDIENCE = 'happyride-e2e';
const ISSUER = 'https://id.happyride.test';
const repoRoot = new URL('../../', import.meta.url).pathname;
const logDir = join(tmpdir(), 'happyride-e2e');
mkdirSync(logDir, { recursive: true });
const logFile = join(logDir, `identity-hardening-${process.pid}.log`);

interface GatewayProcess {
  child: ChildProcess;
  output: () => string;
  exited: Promise<number | null>;
}

/** The gateway's own entry point as a child process, with this environment and nothing else of ours. */
async function spawnGateway(env: Record<string, string>): Promise<GatewayProcess> {
  const subgraphUrls = Object.fromEntries(await Promise.all(schemaSubgraphs.map(async (s) => [`${s.envPrefix}_URL`, `http://127.0.0.1:${await freePort()}/graphql`])));
  const { JWT_SECRET: _secret, JWT_JWKS_URL: _jwks, JWT_ISSUER: _iss, JWT_AUDIENCE: _aud, HOST: _host, ...inherited } = process.env;
  const child = spawn(process.execPath, ['--import', 'tsx', 'gateway/src/main.ts'], {
    cwd: repoRoot,
    env: { ...inherited, NATS_URL: natsUrl(), MONGODB_URL: 'mongodb://127.0.0.1:1', NODE_ENV: 'test', LOG_LEVEL: 'info', ...subgraphUrls, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let text = '';
  const keep = (chunk: Buffer) => {
    text += chunk.toString('utf8');
    appendFileSync(logFile, chunk);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, output: () => text, exited };
}

async function startGatewayProcess(env: Record<string, string>) {
  const port = await freePort();
  const metricsPort = await freePort();
  const gateway = await spawnGateway({ GATEWAY_PORT: String(port), GATEWAY_METRICS_PORT: String(metricsPort), ...env });
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 60_000;
  for (;;) {
    // /health: this gateway has no subgraphs to run (their URLs are closed ports), so /ready stays 503.
    const ready = await fetch(`${url}/health`).then((r) => r.ok, () => false);
    if (ready) break;
    if (gateway.child.exitCode !== null || Date.now() > deadline) throw new Error(`the gateway did not get ready (log: ${logFile}):\n${gateway.output().slice(-2000)}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return {
    ...gateway,
    url,
    metricsUrl: `http://127.0.0.1:${metricsPort}`,
    stop: async () => {
      if (gateway.child.exitCode === null) gateway.child.kill('SIGTERM');
      await gateway.exited;
    },
  };
}

let gateway: Awaited<ReturnType<typeof startGatewayProcess>>;
let gql: ReturnType<typeof graphqlClient>;
const token = (sub: string, options: { audience?: string; issuer?: string } = { audience: AUDIENCE, issuer: ISSUER }) =>
  signToken({ id: sub, role: 'passenger' }, SECRET, options);

beforeAll(async () => {
  gateway = await startGatewayProcess({ JWT_SECRET: SECRET, JWT_AUDIENCE: AUDIENCE, JWT_ISSUER: ISSUER, RATE_LIMIT_PER_MINUTE: '60', RATE_LIMIT_BURST: '20' });
  gql = graphqlClient(`${gateway.url}/graphql`);
}, 120_000);
afterAll(() => gateway?.stop());

describe('tokens at the gateway', () => {
  it('given a token with the configured issuer and audience, then the request is served', async () => {
    const response = await gql('query Probe { __typename }', { token: await token('p-ok') });
    expect(response.errors).toBeUndefined();
    expect(response.data).toEqual({ __typename: 'Query' });
  });

  it('given a token without exp, then 401 UNAUTHENTICATED saying tokens must expire', async () => {
    const forever = await new SignJWT({ role: 'passenger' }).setProtectedHeader({ alg: 'HS256' }).setSubject('p-forever').setAudience(AUDIENCE).setIssuer(ISSUER).sign(new TextEncoder().encode(SECRET));
    const response = await gql('{ __typename }', { token: forever });
    expect(response.status).toBe(401);
    expect(codes(response)).toEqual(['UNAUTHENTICATED']);
    expect(response.errors?.[0]?.message).toMatch(/no `exp` claim/);
  });

  it('given a token for another audience, or none, then 401 UNAUTHENTICATED naming aud', async () => {
    for (const other of [await token('p-aud', { audience: 'some-other-api', issuer: ISSUER }), await token('p-aud', { issuer: ISSUER })]) {
      const response = await gql('{ __typename }', { token: other });
      expect(response.status).toBe(401);
      expect(codes(response)).toEqual(['UNAUTHENTICATED']);
      expect(response.errors?.[0]?.message).toMatch(/`aud`/);
    }
  });
});

describe("the gateway's metrics", () => {
  it('given the public port, then /metrics is 404; the admin port serves it', async () => {
    expect((await fetch(`${gateway.url}/metrics`)).status).toBe(404);
    const scraped = await fetch(`${gateway.metricsUrl}/metrics`);
    expect(scraped.status).toBe(200);
    expect(await scraped.text()).toMatch(/graphql_operations_total\{[^}]*operation="Probe"/);
  });

  it('given an operation named with 200 characters, then it is counted as other', async () => {
    const long = `Q${'x'.repeat(199)}`;
    await gql(`query ${long} { __typename }`, { token: await token('p-metrics') });
    const text = await (await fetch(`${gateway.metricsUrl}/metrics`)).text();
    expect(text).not.toContain(long);
    expect(text).toMatch(/graphql_operations_total\{[^}]*operation="other"/);
  });
});

describe('floods of bad tokens', () => {
  it('given 40 forged tokens at once from one address, then past its burst they are refused as a flood: 429 RATE_LIMITED with a retry hint', async () => {
    const forged = await signToken({ id: 'p-forged', role: 'admin' }, 'not-the-secret-0123456789-abcdefghijklmn', { audience: AUDIENCE, issuer: ISSUER });
    const startedAt = performance.now();
    const responses = await Promise.all(Array.from({ length: 40 }, () => gql('{ __typename }', { token: forged })));
    const elapsedSeconds = (performance.now() - startedAt) / 1000;
    const limited = responses.filter((r) => r.status === 429);
    expect(limited.length).toBeGreaterThanOrEqual(15);
    expect(limited[0]?.errors?.[0]).toMatchObject({ extensions: { code: 'RATE_LIMITED' } });
    // at most the burst of 20 was answered 401 (each takes its budget before verification, so concurrent
    // ones cannot all be counted as first failures), plus what the rate of 60/min refilled while they ran
    expect(responses.filter((r) => r.status === 401).length).toBeLessThanOrEqual(20 + Math.floor(elapsedSeconds));
  });

  it('given a spent address, when it claims another one in X-Forwarded-For (no trusted proxy), then it is still throttled', async () => {
    const response = await fetch(`${gateway.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: 'Bearer not.a.token', 'x-forwarded-for': '198.51.100.23' },
      body: JSON.stringify({ query: '{ __typename }' }),
    });
    expect(response.status).toBe(429);
    expect(response.headers.get('retry-after')).toMatch(/^\d+$/);
  });
});

describe('bad tokens over WebSocket', () => {
  it('given an address that spent its failed-token burst, when it opens sockets with forged tokens, then they are closed 1013, like HTTP 429', async () => {
    // The HTTP flood above spent this address's bucket (it refills a token a second); sockets
    // share it: a forged token is refused (4403) while the bucket lasts, then as a flood (1013).
    const codesSeen: number[] = [];
    for (let i = 0; i < 6; i++) {
      const socket = await rawSocket(`${gateway.url}/graphql`);
      socket.send({ type: 'connection_init', payload: { authorization: 'Bearer not.a.token' } });
      codesSeen.push((await socket.closed).code);
    }
    expect(new Set(codesSeen)).toEqual(new Set(codesSeen.filter((code) => code === 4403 || code === 1013)));
    expect(codesSeen.slice(-3)).toEqual([1013, 1013, 1013]);
  });
});

describe('start-up refusals', () => {
  it('given the public development secret and HOST=0.0.0.0, then the gateway exits non-zero naming JWT_SECRET, without echoing it', async () => {
    const refused = await spawnGateway({ HOST: '0.0.0.0', JWT_SECRET: DEV_JWT_SECRET, GATEWAY_PORT: String(await freePort()), GATEWAY_METRICS_PORT: String(await freePort()) });
    const killer = setTimeout(() => refused.child.kill('SIGKILL'), 30_000);
    const code = await refused.exited;
    clearTimeout(killer);
    expect(code).not.toBe(0);
    expect(code).not.toBeNull();
    expect(refused.output()).toMatch(/JWT_SECRET must be set when HOST is not loopback/);
    expect(refused.output()).not.toContain(DEV_JWT_SECRET);
  });

  it('given a key set that does not answer, then a token is answered 503 SERVICE_UNAVAILABLE with Retry-After, not "invalid token"', async () => {
    const down = await startGatewayProcess({ JWT_JWKS_URL: `http://127.0.0.1:${await freePort()}/jwks.json`, JWT_ISSUER: ISSUER, JWT_AUDIENCE: AUDIENCE });
    try {
      const header = Buffer.from(JSON.stringify({ alg: 'RS256', kid: 'k1' })).toString('base64url');
      const body = Buffer.from(JSON.stringify({ sub: 'd1', role: 'driver', exp: Math.floor(Date.now() / 1000) + 300 })).toString('base64url');
      const response = await fetch(`${down.url}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${header}.${body}.c2ln` },
        body: JSON.stringify({ query: '{ __typename }' }),
      });
      expect(response.status).toBe(503);
      expect(response.headers.get('retry-after')).toMatch(/^\d+$/);
      const json = (await response.json()) as { errors: Array<{ extensions: { code: string; retryAfterSeconds: number } }> };
      expect(json.errors[0]?.extensions).toMatchObject({ code: 'SERVICE_UNAVAILABLE', retryAfterSeconds: expect.any(Number) });

      // The same token over WebSocket: a retryable close (1013 try again later), not 4403.
      const socket = await rawSocket(`${down.url}/graphql`);
      socket.send({ type: 'connection_init', payload: { authorization: `Bearer ${header}.${body}.c2ln` } });
      expect((await socket.closed).code).toBe(1013);
    } finally {
      await down.stop();
    }
  });
});

describe('floods hit the flooder: a crowd behind one address', () => {
  // A gateway behind a trusted proxy (this test), so each generated crowd gets an address of its own.
  let proxied: Awaited<ReturnType<typeof startGatewayProcess>>;
  beforeAll(async () => {
    proxied = await startGatewayProcess({ JWT_SECRET: SECRET, JWT_AUDIENCE: AUDIENCE, JWT_ISSUER: ISSUER, RATE_LIMIT_PER_MINUTE: '60', RATE_LIMIT_BURST: '20', TRUSTED_PROXIES: '127.0.0.1' });
  }, 120_000);
  afterAll(() => proxied?.stop());

  type Caller = { kind: 'forged' | 'known' | 'fresh'; user: number; transport: 'http' | 'ws' };
  /** A crowd: forged tokens past the address's burst of 20, valid users verified before (here or elsewhere) and first-timers, in a generated order and waves. */
  const crowd = fc
    .record({
      forged: fc.integer({ min: 25, max: 45 }),
      known: fc.array(fc.record({ verifiedHere: fc.boolean(), requests: fc.integer({ min: 1, max: 2 }) }), { minLength: 1, maxLength: 3 }),
      fresh: fc.array(fc.integer({ min: 1, max: 2 }), { minLength: 0, maxLength: 3 }),
    })
    .chain(({ forged, known, fresh }) => {
      const callers: Array<Omit<Caller, 'transport'>> = [
        ...Array.from({ length: forged }, (_, user) => ({ kind: 'forged' as const, user })),
        ...known.flatMap(({ requests }, user) => Array.from({ length: requests }, () => ({ kind: 'known' as const, user }))),
        ...fresh.flatMap((requests, user) => Array.from({ length: requests }, () => ({ kind: 'fresh' as const, user }))),
      ];
      return fc.record({
        known: fc.constant(known),
        callers: fc.shuffledSubarray(callers, { minLength: callers.length }).chain((order) =>
          fc.tuple(...order.map((caller) => fc.constantFrom<Caller['transport']>('http', 'ws').map((transport): Caller => ({ ...caller, transport })))),
        ),
        waveSize: fc.integer({ min: 1, max: 10 }),
      });
    });

  let crowdNumber = 0;
  it('given forged tokens and valid users mixed behind one address (generated counts, orders, fresh and already verified users, HTTP and WebSocket), then every valid user is served and only the flooder is refused', async () => {
    const forgedSecret = 'not-the-secret-0123456789-abcdefghijklmn';
    await fc.assert(
      fc.asyncProperty(crowd, async ({ known, callers, waveSize }) => {
        const run = ++crowdNumber;
        const address = `198.51.100.${run}`;
        const tokens = new Map<string, string>();
        const tokenOf = async ({ kind, user }: Caller) => {
          const key = `${kind}-${user}`;
          if (!tokens.has(key)) {
            const sub = `p-${kind}-${run}-${user}`;
            tokens.set(key, kind === 'forged' ? await signToken({ id: sub, role: 'passenger' }, forgedSecret, { audience: AUDIENCE, issuer: ISSUER }) : await token(sub));
          }
          return tokens.get(key)!;
        };
        const http = async (bearer: string, from: string) => {
          const response = await fetch(`${proxied.url}/graphql`, {
            method: 'POST',
            headers: { 'content-type': 'application/json', authorization: `Bearer ${bearer}`, 'x-forwarded-for': from },
            body: JSON.stringify({ query: '{ __typename }' }),
          });
          const body = (await response.json()) as { data?: unknown };
          return response.status === 200 && JSON.stringify(body.data) === '{"__typename":"Query"}' ? 'served' : `http ${response.status}`;
        };
        const ws = async (bearer: string, from: string) => {
          const socket = await rawSocket(`${proxied.url}/graphql`, { 'x-forwarded-for': from });
          socket.send({ type: 'connection_init', payload: { authorization: `Bearer ${bearer}` } });
          let closedWith: number | undefined;
          void socket.closed.then(({ code }) => (closedWith = code));
          const acked = () => socket.messages.some((m) => m.type === 'connection_ack');
          await until(() => acked() || closedWith !== undefined, { what: 'an ack or a close' });
          const ended = acked() ? 'served' : `ws ${closedWith}`;
          socket.close();
          await socket.closed;
          return ended;
        };
        // Valid users whose tokens the gateway has verified already, at this address or another.
        for (const [user, { verifiedHere }] of known.entries()) {
          expect(await http(await tokenOf({ kind: 'known', user, transport: 'http' }), verifiedHere ? address : `192.0.2.${run}`)).toBe('served');
        }
        const startedAt = performance.now();
        const answers: Array<{ caller: Caller; answer: string }> = [];
        for (let i = 0; i < callers.length; i += waveSize) {
          const wave = callers.slice(i, i + waveSize);
          answers.push(...(await Promise.all(wave.map(async (caller) => ({ caller, answer: await (caller.transport === 'http' ? http : ws)(await tokenOf(caller), address) })))));
        }
        const elapsedSeconds = (performance.now() - startedAt) / 1000;
        const valid = answers.filter(({ caller }) => caller.kind !== 'forged');
        expect(valid.filter(({ answer }) => answer !== 'served')).toEqual([]);
        const forged = answers.filter(({ caller }) => caller.kind === 'forged').map(({ answer }) => answer);
        expect(forged.filter((answer) => !['http 401', 'http 429', 'ws 4403', 'ws 1013'].includes(answer))).toEqual([]);
        // The flooder is hit: past the burst of 20 (plus a token a second refilled), its tokens are refused as a flood.
        expect(forged.filter((answer) => answer === 'http 401' || answer === 'ws 4403').length).toBeLessThanOrEqual(20 + Math.ceil(elapsedSeconds));
      }),
      { numRuns: 8 },
    );
  });
});
