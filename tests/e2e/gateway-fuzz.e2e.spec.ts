import fc from 'fast-check';
import { buildClientSchema, extendSchema, getIntrospectionQuery, parse, type GraphQLSchema, type IntrospectionQuery } from 'graphql';
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { until } from '../support/eventually.ts';
import { codes, graphqlClient, tokenFor } from '../support/graphql-client.ts';
import { fragmentBomb, httpShapeOf, mutationOf, operationOf, type HttpShape, type Operation } from '../support/fuzz-operations.ts';
import { startTestSystem } from '../support/system.ts';
import { defaultWebSocketLimits } from '../../gateway/src/subscriptions/socket-limits.ts';

/** The gateway's default message limit (the system runs with it): a larger frame is closed 1009. */
const WS_MAX_PAYLOAD_BYTES = defaultWebSocketLimits.maxPayloadBytes;
import WebSocket from 'ws';
import { rawSocket, subscriptionClient, wsUrl } from '../support/websocket.ts';

/**
 * The gateway against hostile clients, through the real processes: the fragment bomb and the
 * other limits first, then a property-based fuzzer on HTTP and WebSocket. `FUZZ_RUNS`
 * (default 300; `npm run fuzz -- --runs 20000`) and `FUZZ_SEED` (printed on every run and by
 * fast-check on a failure) make a run long or reproduce one.
 */
const RUNS = Number(process.env.FUZZ_RUNS ?? 300);
const SEED = Number(process.env.FUZZ_SEED ?? Date.now() % 2 ** 31);
/** The generous bound on any one answer (and on `/health` while the fuzzer runs). */
const BOUND_MS = 5_000;
/** How much the gateway's RSS may grow over the second half of the run. */
const RSS_GROWTH_BOUND_MB = 150;

let system: Awaited<ReturnType<typeof startTestSystem>>;
let gql: ReturnType<typeof graphqlClient>;
let healthUrl: string;
let schema: GraphQLSchema;
let withSubscriptions: GraphQLSchema;
const tokens: Record<string, string | undefined> = {};

beforeAll(async () => {
  system = await startTestSystem();
  gql = graphqlClient(system.gatewayUrl);
  healthUrl = system.gatewayUrl.replace(/\/graphql$/, '/health');
  tokens.passenger = await tokenFor('passenger', 'fuzz-passenger');
  tokens.driver = await tokenFor('driver', 'fuzz-driver');
  tokens.admin = await tokenFor('admin', 'fuzz-admin');
  tokens.garbage = 'not.a.token';
  const introspection = await gql<IntrospectionQuery>(getIntrospectionQuery(), { token: tokens.admin });
  schema = buildClientSchema(introspection.data!);
  withSubscriptions = extendSchema(schema, parse(readFileSync(new URL('../../gateway/src/subscriptions/subscriptions.graphql', import.meta.url), 'utf8')));
});
afterAll(() => system?.stop());

const timed = async <T>(work: () => Promise<T>) => {
  const start = performance.now();
  const value = await work();
  return { value, ms: performance.now() - start };
};

describe('validation cost is bounded for every document (through the real gateway)', () => {
  it('given the fragment bomb (40 fragments each spreading the next twice), then it is refused with a code well under a second and /health answers meanwhile', async () => {
    const bomb = fragmentBomb(40);
    const [refused, health] = await Promise.all([timed(() => gql(bomb)), timed(() => fetch(healthUrl))]);
    expect(refused.value.status).toBe(400);
    expect(codes(refused.value)).toEqual(['COST_LIMIT_EXCEEDED']);
    expect(refused.value.errors?.[0]?.message).toMatch(/estimated cost of 1099511627776/);
    expect(refused.ms).toBeLessThan(1_000);
    expect(health.value.status).toBe(200);
    expect((await fetch(healthUrl)).status).toBe(200);
  });

  it('given the fragment bomb, then an unknown field, as subscriptions over graphql-ws, then an error with a code arrives for each and the socket stays open', async () => {
    const socket = await rawSocket(system.gatewayUrl);
    socket.send({ type: 'connection_init', payload: { authorization: `Bearer ${tokens.passenger}` } });
    await until(() => socket.messages.some((m) => m.type === 'connection_ack'));
    socket.send({ type: 'subscribe', id: 'bomb', payload: { query: fragmentBomb(40).replace('query Bomb', 'subscription Bomb') } });
    socket.send({ type: 'ping' });
    await until(() => socket.messages.some((m) => m.type === 'error') && socket.messages.some((m) => m.type === 'pong'));
    const error = socket.messages.find((m) => m.type === 'error') as { payload: Array<{ extensions: { code: string } }> };
    expect(error.payload.map((e) => e.extensions.code)).toContain('COST_LIMIT_EXCEEDED');
    // Subscriptions are validated against the schema too: an unknown field is refused, with a code.
    socket.send({ type: 'subscribe', id: 'unknown', payload: { query: 'subscription { tripUpdates(tripId: "t1") { nope } }' } });
    await until(() => socket.messages.some((m) => m.type === 'error' && m.id === 'unknown'));
    const unknown = socket.messages.find((m) => m.type === 'error' && m.id === 'unknown') as { payload: Array<{ message: string; extensions: { code: string } }> };
    expect(unknown.payload).toEqual([expect.objectContaining({ message: 'Cannot query field "nope" on type "Trip".', extensions: { code: 'GRAPHQL_VALIDATION_FAILED' } })]);
    socket.close();
  });
});

describe('cost uses the real page sizes (through the real gateway)', () => {
  // Ten plain fields five times over (each selection counts): 50 per trip, no entity hop.
  const fields = 'id state fare distanceKm createdAt updatedAt passengerId passengerName driverId driverName '.repeat(5);
  const page = (alias: string) => `${alias}: myTrips(first: $n) { edges { node { ${fields} } } }`;
  // Each page costs 1 + n × 52: five of them are 2,605 at n = 10 and 26,005 at n = 100 (the limit is 25,000).
  const PAGES = `query Pages($n: Int) { ${['a', 'b', 'c', 'd', 'e'].map(page).join(' ')} }`;

  it('given a page size by variable, then its value is what the cost counts: 10 runs, 100 is refused with COST_LIMIT_EXCEEDED', async () => {
    expect((await gql(PAGES, { token: tokens.passenger, variables: { n: 10 } })).errors).toBeUndefined();
    const refused = await gql(PAGES, { token: tokens.passenger, variables: { n: 100 } });
    expect(refused.status).toBe(400);
    expect(codes(refused)).toEqual(['COST_LIMIT_EXCEEDED']);
  });

  it.each([-1, 0, 101, 1e9])('given first=%s by variable, then BAD_USER_INPUT from the gateway, before any subgraph', async (n) => {
    const refused = await gql('query ($n: Int) { myTrips(first: $n) { edges { node { id } } } }', { token: tokens.passenger, variables: { n } });
    expect(refused.status).toBe(400);
    expect(codes(refused)).toEqual(['BAD_USER_INPUT']);
    // The gateway's own message names the field; the subgraph's would not.
    expect(refused.errors?.[0]?.message).toBe(`\`first\` of myTrips must be from 1 to 100; got ${n}.`);
  });

  it('given the standard introspection query (GraphiQL, Sandbox), then it runs', async () => {
    const answer = await gql<IntrospectionQuery>(getIntrospectionQuery());
    expect(answer.errors).toBeUndefined();
    expect(answer.data?.__schema.queryType?.name).toBe('Query');
  });

  it('given introspection aliased, nested through its lists, or spread as a bomb, then each is refused with a code', async () => {
    const aliased = (n: number) => `{ ${Array.from({ length: n }, (_, i) => `s${i}: __schema { types { name fields { name } } }`).join(' ')} }`;
    expect((await gql(aliased(4))).errors).toBeUndefined();
    expect(codes(await gql(aliased(5)))).toEqual(['COST_LIMIT_EXCEEDED']);
    expect(codes(await gql(`{ ${Array.from({ length: 16 }, (_, i) => `t${i}: __type(name: "Trip") { name }`).join(' ')} }`))).toEqual(['ALIAS_LIMIT_EXCEEDED']);
    const nested = await gql('{ __schema { types { fields { type { fields { type { fields { name } } } } } } } }');
    expect(codes(nested)).toEqual(['GRAPHQL_VALIDATION_FAILED']);
    expect(nested.errors?.[0]?.message).toBe('Maximum introspection depth exceeded');
    expect(codes(await gql(fragmentBomb(20, 2, '__schema { types { name fields { name } } }')))).toEqual(['COST_LIMIT_EXCEEDED']);
  });
});


// ---------------------------------------------------------------------------------------------
// The fuzzer

type Identity = 'anonymous' | 'passenger' | 'driver' | 'admin' | 'garbage';
type Case =
  | { transport: 'http'; identity: Identity; shape: HttpShape; label: string }
  | { transport: 'ws'; identity: Identity; operation: Operation; label: string }
  | { transport: 'ws-raw'; frames: string[]; label: string };

interface Outcome {
  status: number;
  codes: string[];
  /** What breaks a property, if anything. */
  problem?: string;
}

const rssMb = (pid: number) => Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? NaN) / 1024;

function casesOf(): fc.Arbitrary<Case> {
  const identity = fc.constantFrom<Identity>('anonymous', 'passenger', 'driver', 'admin', 'garbage');
  const valid = fc.oneof({ weight: 4, arbitrary: operationOf(schema, 'query') }, { weight: 1, arbitrary: operationOf(schema, 'mutation') });
  const labelled = fc.oneof(
    { weight: 1, arbitrary: valid.map((o) => ({ ...o, mutation: 'valid' })) },
    { weight: 2, arbitrary: mutationOf(valid) },
  );
  const subscription = fc.oneof(
    { weight: 2, arbitrary: operationOf(withSubscriptions, 'subscription').map((o) => ({ ...o, mutation: 'valid' })) },
    { weight: 2, arbitrary: mutationOf(operationOf(withSubscriptions, 'subscription')) },
    { weight: 1, arbitrary: labelled },
  );
  return fc.oneof(
    {
      weight: 8,
      arbitrary: fc.tuple(identity, httpShapeOf(labelled.map(({ query, variables }) => ({ query, variables })))).map(
        ([who, shape]): Case => ({ transport: 'http', identity: who, shape, label: `http ${shape.kind}` }),
      ),
    },
    { weight: 8, arbitrary: fc.tuple(identity, labelled).map(([who, o]): Case => ({ transport: 'http', identity: who, shape: { kind: 'post', body: { query: o.query, variables: o.variables } }, label: `http ${o.mutation}` })) },
    { weight: 3, arbitrary: fc.tuple(identity, subscription).map(([who, o]): Case => ({ transport: 'ws', identity: who, operation: o, label: `ws ${o.mutation}` })) },
    {
      weight: 1,
      arbitrary: fc.array(fc.oneof(fc.string({ unit: 'binary', maxLength: 200 }), fc.jsonValue({ maxDepth: 2 }).map((v) => JSON.stringify(v))), { minLength: 1, maxLength: 4 }).map(
        (frames): Case => ({ transport: 'ws-raw', frames, label: 'ws raw' }),
      ),
    },
  );
}

async function sendHttp(c: Extract<Case, { transport: 'http' }>): Promise<Outcome> {
  const token = c.identity === 'anonymous' ? undefined : tokens[c.identity];
  const headers: Record<string, string> = { accept: 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) };
  let response: Response;
  const signal = AbortSignal.timeout(BOUND_MS * 2);
  const { shape } = c;
  if (shape.kind === 'get') {
    const url = `${system.gatewayUrl}?${new URLSearchParams(shape.params)}`;
    response = await fetch(url, { headers: { ...headers, ...(shape.preflight ? { 'apollo-require-preflight': 'true' } : {}) }, signal });
  } else if (shape.kind === 'bytes') {
    response = await fetch(system.gatewayUrl, { method: 'POST', headers: { ...headers, ...(shape.contentType ? { 'content-type': shape.contentType } : {}) }, body: shape.body, signal });
  } else {
    response = await fetch(system.gatewayUrl, { method: 'POST', headers: { ...headers, 'content-type': 'application/json' }, body: JSON.stringify(shape.body), signal });
  }
  const text = await response.text();
  let body: { errors?: Array<{ extensions?: { code?: unknown } }> } | undefined;
  try {
    body = JSON.parse(text);
  } catch {
    return { status: response.status, codes: [], problem: `HTTP ${response.status} answered with a body that is not JSON: ${text.slice(0, 200)}` };
  }
  const errors = Array.isArray(body?.errors) ? body.errors : [];
  const seen = errors.map((e) => String(e.extensions?.code));
  if (response.status >= 500) return { status: response.status, codes: seen, problem: `HTTP ${response.status}: ${text.slice(0, 300)}` };
  if (errors.some((e) => typeof e.extensions?.code !== 'string')) return { status: response.status, codes: seen, problem: `an error without extensions.code: ${text.slice(0, 300)}` };
  if (response.status >= 400 && errors.length === 0) return { status: response.status, codes: seen, problem: `HTTP ${response.status} without errors: ${text.slice(0, 300)}` };
  return { status: response.status, codes: seen };
}

async function sendWs(c: Extract<Case, { transport: 'ws' }>): Promise<Outcome> {
  const token = c.identity === 'anonymous' ? undefined : tokens[c.identity];
  const client = subscriptionClient(system.gatewayUrl, token);
  try {
    const first = await new Promise<{ kind: 'next' | 'complete' | 'silent'; codes: string[] } | { kind: 'error'; error: unknown }>((resolve) => {
      // dispatchOffers may rightly say nothing (no open offer); anything else answers at once.
      setTimeout(() => resolve({ kind: 'silent', codes: [] }), 1_000);
      const dispose = client.subscribe(
        { query: c.operation.query, variables: c.operation.variables },
        {
          next: (result) => {
            dispose();
            resolve({ kind: 'next', codes: (result.errors ?? []).map((e) => String(e.extensions?.code)) });
          },
          error: (error) => resolve({ kind: 'error', error }),
          complete: () => resolve({ kind: 'complete', codes: [] }),
        },
      );
    });
    if (first.kind === 'silent' && !c.operation.query.includes('dispatchOffers')) return { status: 101, codes: [], problem: 'no answer to a subscribe within a second' };
    if (first.kind !== 'error') return { status: 101, codes: first.codes };
    if (Array.isArray(first.error)) {
      const errors = first.error as Array<{ extensions?: { code?: unknown } }>;
      const seen = errors.map((e) => String(e.extensions?.code));
      if (errors.length === 0 || errors.some((e) => typeof e.extensions?.code !== 'string')) return { status: 101, codes: seen, problem: `a WebSocket error without extensions.code: ${JSON.stringify(errors).slice(0, 300)}` };
      return { status: 101, codes: seen };
    }
    const code = (first.error as { code?: number }).code;
    if (typeof code === 'number') {
      // The socket was closed: fine for a refused token (4403) or a message over the payload
      // limit (1009, documented in the README), never for a server failure.
      const tooBig = code === 1009 && Buffer.byteLength(JSON.stringify(c.operation)) > WS_MAX_PAYLOAD_BYTES;
      const ok = code === 4403 ? !token || c.identity === 'garbage' : tooBig || (code >= 4400 && code < 4500);
      return { status: 101, codes: [`close ${code}`], ...(ok ? {} : { problem: `the socket closed with ${code} (${(first.error as { reason?: string }).reason ?? ''})` }) };
    }
    return { status: 101, codes: [], problem: `the subscription failed: ${String(first.error)}` };
  } finally {
    await client.dispose();
  }
}

async function sendRaw(c: Extract<Case, { transport: 'ws-raw' }>): Promise<Outcome> {
  const socket = new WebSocket(wsUrl(system.gatewayUrl), 'graphql-transport-ws');
  const closed = new Promise<{ code: number }>((resolve) => socket.on('close', (code) => resolve({ code })));
  await new Promise<void>((resolve, reject) => {
    socket.once('open', () => resolve());
    socket.once('error', reject);
  });
  for (const frame of c.frames) socket.send(frame);
  // Garbage is refused (4400), or the socket waits for a connection_init that never comes (4408).
  const outcome = await Promise.race([closed, new Promise<null>((resolve) => setTimeout(() => resolve(null), BOUND_MS))]);
  if (!outcome) {
    socket.close();
    return { status: 101, codes: [], problem: 'a socket sending garbage was neither refused nor closed' };
  }
  const ok = outcome.code >= 4400 && outcome.code < 4500;
  return { status: 101, codes: [`close ${outcome.code}`], ...(ok ? {} : { problem: `garbage closed the socket with ${outcome.code}` }) };
}

describe('the fuzzer: generated, mutated and random requests on HTTP and WebSocket', () => {
  it(`given ${RUNS} operations (seed ${SEED}), then no 5xx, every error has a code, every answer within ${BOUND_MS} ms, /health answers throughout and RSS stays bounded`, async () => {
    console.info(`gateway fuzzer: ${RUNS} runs, seed ${SEED} (FUZZ_SEED=${SEED} FUZZ_RUNS=${RUNS} reproduces it)`);
    const pid = system.pid('gateway');
    if (pid === undefined) throw new Error('the gateway has no process id');
    const stats = { runs: 0, codes: new Map<string, number>(), labels: new Map<string, number>(), worst: [] as Array<{ ms: number; label: string; sample: string }> };
    const rss: number[] = [rssMb(pid)];
    let healthWorstMs = 0;
    let healthFailure: string | undefined;
    let running = true;
    const health = (async () => {
      while (running) {
        const start = performance.now();
        try {
          const response = await fetch(healthUrl, { signal: AbortSignal.timeout(BOUND_MS * 2) });
          if (response.status !== 200) healthFailure ??= `/health answered ${response.status}`;
        } catch (error) {
          healthFailure ??= `/health failed: ${String(error)}`;
        }
        healthWorstMs = Math.max(healthWorstMs, performance.now() - start);
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    })();

    try {
      await fc.assert(
        fc.asyncProperty(casesOf(), async (c) => {
          const { value: outcome, ms } = await timed(() => (c.transport === 'http' ? sendHttp(c) : c.transport === 'ws' ? sendWs(c) : sendRaw(c)));
          stats.runs++;
          stats.labels.set(c.label, (stats.labels.get(c.label) ?? 0) + 1);
          for (const code of outcome.codes) stats.codes.set(code, (stats.codes.get(code) ?? 0) + 1);
          stats.worst.push({ ms, label: c.label, sample: JSON.stringify(c).slice(0, 400) });
          stats.worst = stats.worst.sort((a, b) => b.ms - a.ms).slice(0, 5);
          if (stats.runs % Math.ceil(RUNS / 8) === 0) rss.push(rssMb(pid));
          if (outcome.problem) throw new Error(`${c.label}: ${outcome.problem}`);
          if (ms > BOUND_MS) throw new Error(`${c.label}: answered in ${Math.round(ms)} ms`);
          if (healthFailure) throw new Error(healthFailure);
        }),
        { numRuns: RUNS, seed: SEED, endOnFailure: true },
      );
    } finally {
      running = false;
      await health;
      rss.push(rssMb(pid));
      console.info(
        `gateway fuzzer: ${stats.runs} operations; codes ${JSON.stringify(Object.fromEntries([...stats.codes].sort((a, b) => b[1] - a[1])))}; ` +
          `kinds ${JSON.stringify(Object.fromEntries(stats.labels))}; worst ${stats.worst.map((w) => `${Math.round(w.ms)} ms (${w.label})`).join(', ')}; ` +
          `/health worst ${Math.round(healthWorstMs)} ms; gateway RSS ${rss.map((r) => `${Math.round(r)} MB`).join(' → ')}`,
      );
      console.info(`gateway fuzzer slowest: ${stats.worst.map((w) => w.sample).join('\n')}`);
    }
    expect(healthFailure).toBeUndefined();
    expect(healthWorstMs).toBeLessThan(BOUND_MS);
    // Caches (parsed documents, query plans) fill in the first half; the second half must not keep growing.
    const half = rss[Math.floor(rss.length / 2)] ?? 0;
    expect(rss.at(-1)! - half).toBeLessThan(RSS_GROWTH_BOUND_MB);
  }, 600_000 + RUNS * 1_000);
});
