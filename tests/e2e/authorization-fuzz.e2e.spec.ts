/**
 * The authorization fuzzer: no answer, through any door, holds another identity's data.
 *
 * Given a cast with known, unique data (passengers P1, P2, P3; drivers D1, D2, D3, each with a
 * name, a plate and a model no one else has; trip T1 of P1 driven by D1, T2 of P2 driven by D2;
 * P3 and D3 share nothing with anyone; admin A), it sends operations generated from each schema
 * it is posted to (the gateway's API schema, each subgraph's own SDL with `_entities`), and
 * generated entity representations, with hostile scalars in every ID and String slot (operator
 * objects, lists, very long strings, numbers, null, everyone's ids), as every role, and with a
 * forged admin token, to the gateway AND straight to every subgraph. Then, for every answer:
 * - no name, plate or model of an identity the caller may not see appears anywhere in its text,
 *   nor any of their ids (or their trips' ids) that the request did not itself carry;
 * - no 5xx, no INTERNAL_SERVER_ERROR, no stack trace.
 *
 * Who may see whom: everyone themselves; a passenger and a driver who share a trip, each other and
 * that trip; the admin everyone. (Subgraphs verify the bearer token themselves, with the same key
 * as the gateway: skipping the gateway skips its limits, not authentication.)
 *
 * `FUZZ_SEED` (default below, printed) and `FUZZ_RUNS` replay or lengthen a run:
 * `npm run fuzz -- --authorization [--runs 5000] [--seed 123]`.
 */
import { tripDecider } from '@happyride/domain';
import { commandHandler, connectNats, JetStreamEventStore, type Nats } from '@happyride/eventstore';
import { DEV_JWT_SECRET, loadTypeDefs, signToken, subgraphSchema } from '@happyride/platform';
import { SYSTEM_ACTOR } from '@happyride/sagas';
import fc from 'fast-check';
import { buildClientSchema, getIntrospectionQuery, getNamedType, isObjectType, isScalarType, isEnumType, type GraphQLObjectType, type GraphQLSchema, type IntrospectionQuery } from 'graphql';
import { randomBytes, randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { subgraphs } from '../../schema/subgraphs.ts';
import { operationOf, type Operation } from '../support/fuzz-operations.ts';
import { eventually, graphqlClient, tokenFor, type GraphQLResponse } from '../support/graphql-client.ts';
import { natsUrl } from '../support/own-event-log.ts';
import { startTestSystem } from '../support/system.ts';

const RUNS = Number(process.env.FUZZ_RUNS ?? 1_500);
const SEED = Number(process.env.FUZZ_SEED ?? 20_020);

type Person = 'P1' | 'P2' | 'P3' | 'D1' | 'D2' | 'D3' | 'A';
type Caller = Person | 'anonymous' | 'forged-admin' | 'garbage';
const callers: Caller[] = ['anonymous', 'P1', 'P2', 'P3', 'D1', 'D2', 'D3', 'A', 'forged-admin', 'garbage'];
const people: Person[] = ['P1', 'P2', 'P3', 'D1', 'D2', 'D3', 'A'];
/** Who shares a trip with whom. */
const sharesWith: Partial<Record<Person, Person>> = { P1: 'D1', D1: 'P1', P2: 'D2', D2: 'P2' };

const tag = () => randomBytes(4).toString('hex');
/** Each identity's id and the data only it (and those who may see it) should ever read. */
const cast = Object.fromEntries(
  people.map((p) => {
    const kind = p[0] === 'P' ? 'passenger' : p[0] === 'D' ? 'driver' : 'admin';
    return [p, { kind, id: `${p.toLowerCase()}-${tag()}`, name: `Name${p}x${tag()}`, plate: `PL${tag().toUpperCase()}`, model: `Model${tag()}` }];
  }),
) as Record<Person, { kind: 'passenger' | 'driver' | 'admin'; id: string; name: string; plate: string; model: string }>;
const trips: { T1: string; T2: string } = { T1: '', T2: '' };
const tripOf: Partial<Record<Person, 'T1' | 'T2'>> = { P1: 'T1', D1: 'T1', P2: 'T2', D2: 'T2' };

let system: Awaited<ReturnType<typeof startTestSystem>>;
let nats: Nats;
const tokens: Partial<Record<Caller, string>> = {};
const doors: Array<{ name: string; url: string; schema: GraphQLSchema }> = [];

const here = { lng: 116.3975, lat: 39.9087 };
const there = { lng: 116.4066, lat: 39.8822 };

beforeAll(async () => {
  // Trips are moved by hand with the commands the sagas send: no saga worker racing them.
  system = await startTestSystem({}, { without: ['saga-worker'] });
  const gql = graphqlClient(system.gatewayUrl);
  for (const p of people) tokens[p] = await tokenFor(cast[p].kind, cast[p].id);
  tokens['forged-admin'] = await signToken({ id: 'forger', role: 'admin' }, `not-the-secret-${DEV_JWT_SECRET}`);
  tokens.garbage = 'not.a.token';
  const must = async (who: Person, query: string, variables: Record<string, unknown> = {}) => {
    const answer = await gql(query, { token: tokens[who]!, variables });
    if (answer.errors) throw new Error(`${who}: ${query.slice(0, 60)}: ${JSON.stringify(answer.errors)}`);
    return answer.data as Record<string, { id: string }>;
  };
  // Strangers first: a filter that matches "any driver" finds D3 or D2 before D1.
  for (const p of ['D3', 'D2', 'D1'] as const) {
    await must(p, 'mutation ($n: String!, $v: VehicleInput!) { registerDriver(input: { name: $n, vehicle: $v }) { id } }', { n: cast[p].name, v: { plate: cast[p].plate, model: cast[p].model } });
  }
  for (const p of ['P3', 'P2', 'P1'] as const) await must(p, 'mutation ($n: String!) { registerPassenger(input: { name: $n }) { id } }', { n: cast[p].name });
  nats = await connectNats(natsUrl(), 'e2e-authorization-fuzz');
  const handle = commandHandler({ store: new JetStreamEventStore(nats.js, nats.jsm), aggregateType: 'trip', decider: tripDecider });
  const bySaga = () => ({ commandId: randomUUID(), actor: SYSTEM_ACTOR, now: new Date().toISOString() });
  for (const [trip, passenger, driver] of [['T2', 'P2', 'D2'], ['T1', 'P1', 'D1']] as const) {
    const id = (await must(passenger, 'mutation ($s: PositionInput!, $e: PositionInput!) { requestTrip(input: { start: $s, end: $e }) { id } }', { s: here, e: there })).requestTrip!.id;
    trips[trip] = id;
    const context = { correlationId: 'authorization-fuzz' };
    await handle(id, { type: 'ConfirmTrip', data: { tripId: id }, metadata: bySaga() }, context);
    await handle(id, { type: 'StartDispatch', data: { tripId: id, candidateDriverIds: [cast[driver].id] }, metadata: bySaga() }, context);
    await must(driver, 'mutation ($t: ID!, $p: PositionInput!) { acceptTrip(input: { tripId: $t, position: $p }) { id } }', { t: id, p: here });
    await handle(id, { type: 'AssignDriver', data: { tripId: id, driverId: cast[driver].id }, metadata: bySaga() }, context);
  }
  // The read side has both trips with both names, and every profile.
  for (const [trip, passenger, driver] of [['T1', 'P1', 'D1'], ['T2', 'P2', 'D2']] as const) {
    await eventually(
      () => gql<{ trip: { passengerName: string; driverName: string } }>('query ($t: ID!) { trip(id: $t) { passengerName driverName } }', { token: tokens.A!, variables: { t: trips[trip] } }),
      (r) => r.data?.trip?.passengerName === cast[passenger].name && r.data.trip.driverName === cast[driver].name,
      { timeoutMs: 30_000, what: `${trip} projected with both names` },
    );
  }
  for (const p of ['P3', 'D3'] as const) {
    await eventually(() => gql(`query ($id: ID!) { ${cast[p].kind}(id: $id) { id } }`, { token: tokens.A!, variables: { id: cast[p].id } }), (r) => !r.errors, { timeoutMs: 30_000, what: `${p} projected` });
  }

  const introspection = await gql<IntrospectionQuery>(getIntrospectionQuery(), { token: tokens.A! });
  doors.push({ name: 'gateway', url: system.gatewayUrl, schema: buildClientSchema(introspection.data!) });
  for (const entry of subgraphs) {
    doors.push({ name: entry.name, url: `${system.urls[entry.name]}/graphql`, schema: subgraphSchema(loadTypeDefs(new URL(`../../${entry.sdl}`, import.meta.url)), {}) });
  }
}, 300_000);
afterAll(async () => {
  await nats?.close();
  await system?.stop();
});

// ---------------------------------------------------------------------------------------------
// What a caller may not read

/** The people a caller may see (besides no one, for anonymous and forged callers). */
function visibleTo(caller: Caller): Set<Person> {
  if (caller === 'A') return new Set(people);
  if (caller === 'anonymous' || caller === 'forged-admin' || caller === 'garbage') return new Set();
  const other = sharesWith[caller];
  return new Set(other ? [caller, other] : [caller]);
}

/** What in an answer to `caller` would be a leak, given the request's own text. */
function leaksIn(caller: Caller, answer: string, request: string): string[] {
  const visible = visibleTo(caller);
  const found: string[] = [];
  for (const p of people) {
    if (visible.has(p)) continue;
    const { name, plate, model, id } = cast[p];
    // Names, plates and models are never sent: any sight of them is a leak.
    for (const secret of p[0] === 'D' ? [name, plate, model] : [name]) if (answer.includes(secret)) found.push(`${p}'s ${secret}`);
    // An id may be echoed back in an error about the request that carried it; one it did not carry is a leak.
    if (answer.includes(id) && !request.includes(id)) found.push(`${p}'s id ${id}`);
  }
  const visibleTrips = new Set([...visible].map((p) => tripOf[p]).filter((t) => t !== undefined));
  for (const trip of ['T1', 'T2'] as const) {
    if (!visibleTrips.has(trip) && answer.includes(trips[trip]) && !request.includes(trips[trip])) found.push(`trip ${trip} ${trips[trip]}`);
  }
  return found;
}

const STACK_TRACE = /"stacktrace"|\bat [\w$.<>]+ \(|node:internal|\/node_modules\/|\.ts:\d+:\d+/;

// ---------------------------------------------------------------------------------------------
// What is sent

const everyId = () => [...people.map((p) => cast[p].id), trips.T1, trips.T2];
const hostile = () =>
  fc.oneof(
    fc.constantFrom<unknown>({ $ne: '' }, { $regex: '.' }, { $gt: '' }, { $nin: [] }, { $exists: true }, { $where: 'true' }, { $in: everyId() }, { $nin: [cast.D1.id, cast.P1.id] }),
    fc.constantFrom<unknown>([cast.D2.id], ['a', 'b'], [], {}, null, 0, 42, -1, 1.5, true, '', ' ', '.*', '*', 'x'.repeat(70), 'x'.repeat(20_000), '\u0000', '../etc'),
  );
/** ID slots: mostly someone's id (the caller's own or another's), else hostile. */
const idValues = () => fc.oneof({ weight: 4, arbitrary: fc.constantFrom(...everyId()) }, { weight: 3, arbitrary: hostile() }, { weight: 1, arbitrary: fc.string({ maxLength: 20 }) });
const stringValues = () => fc.oneof({ weight: 2, arbitrary: fc.string({ maxLength: 20 }) }, { weight: 2, arbitrary: hostile() }, { weight: 1, arbitrary: fc.constantFrom(...everyId()) });

/**
 * Renames are left out: every name, plate and model stays the one identity's marker (the
 * authorization matrix covers who may rename whom).
 */
const notARename = (field: string) => !/^update(Passenger|Driver)Details$/.test(field);

/** Every scalar field of a type and of the object types under it, to a depth: the most an answer can show. */
function everyField(type: GraphQLObjectType, depth = 2): string {
  return Object.values(type.getFields())
    .filter((f) => f.args.every((a) => !a.type.toString().endsWith('!')))
    .map((f) => {
      const named = getNamedType(f.type);
      if (isScalarType(named) || isEnumType(named)) return f.name;
      return isObjectType(named) && depth > 0 ? `${f.name} { ${everyField(named, depth - 1) || '__typename'} }` : '';
    })
    .filter(Boolean)
    .join(' ');
}

/** `_entities` with generated representations, selecting all of each entity type this subgraph has. */
function entitiesOf(schema: GraphQLSchema): fc.Arbitrary<Operation & { kind: string }> | undefined {
  const entityTypes = ['Passenger', 'Driver', 'Trip'].map((n) => schema.getType(n)).filter((t): t is GraphQLObjectType => isObjectType(t));
  if (entityTypes.length === 0) return undefined;
  const query = `query Fuzz($r: [_Any!]!) { _entities(representations: $r) { __typename ${entityTypes.map((t) => `... on ${t.name} { ${everyField(t)} }`).join(' ')} } }`;
  const typename = fc.oneof({ weight: 6, arbitrary: fc.constantFrom('Passenger', 'Driver', 'Trip') }, { weight: 1, arbitrary: hostile() }, { weight: 1, arbitrary: fc.constantFrom('Query', 'DispatchOffer', '_Service') });
  const representation = fc.oneof(
    { weight: 6, arbitrary: fc.record({ __typename: typename, id: fc.oneof(fc.constantFrom(...everyId()), hostile()) }) },
    { weight: 1, arbitrary: fc.record({ __typename: typename, id: fc.constantFrom(...everyId()), passengerId: idValues(), driverId: idValues() }) },
    { weight: 1, arbitrary: hostile() },
  );
  return fc
    .oneof({ weight: 4, arbitrary: fc.array(representation, { minLength: 1, maxLength: 4 }) }, { weight: 1, arbitrary: hostile() })
    .map((r) => ({ query, variables: { r }, kind: '_entities' }));
}

interface Case {
  door: string;
  caller: Caller;
  kind: string;
  operation: Operation;
}

function casesOf(): fc.Arbitrary<Case> {
  // Half the operations carry hostile values; the other half only well-formed ones (everyone's
  // ids among them), which get past the input checks to the rules about who may see what.
  const hostileScalars = { ID: idValues(), String: stringValues() };
  const wellFormed = { ID: fc.constantFrom(...everyId()) };
  const generated = (schema: GraphQLSchema, kind: 'query' | 'mutation', rootFields: (f: string) => boolean) =>
    fc.oneof(
      operationOf(schema, kind, { scalars: hostileScalars, aliases: false, rootFields }).map((o) => ({ ...o, kind })),
      operationOf(schema, kind, { scalars: wellFormed, aliases: false, rootFields }).map((o) => ({ ...o, kind: `${kind} (well-formed)` })),
    );
  const perDoor = doors.map(({ name, schema }) => {
    const kinds: Array<{ weight: number; arbitrary: fc.Arbitrary<Operation & { kind: string }> }> = [];
    const fieldsOf = (root: GraphQLObjectType | null | undefined) => Object.keys(root?.getFields() ?? {}).filter((f) => !f.startsWith('_') && notARename(f));
    if (fieldsOf(schema.getQueryType()).length > 0) kinds.push({ weight: 4, arbitrary: generated(schema, 'query', (f) => !f.startsWith('_')) });
    if (fieldsOf(schema.getMutationType()).length > 0) kinds.push({ weight: 2, arbitrary: generated(schema, 'mutation', (f) => !f.startsWith('_') && notARename(f)) });
    const entities = name === 'gateway' ? undefined : entitiesOf(schema);
    if (entities) kinds.push({ weight: 5, arbitrary: entities });
    return { weight: name === 'gateway' ? 3 : 1, arbitrary: fc.oneof(...kinds).map((o) => ({ door: name, operation: { query: o.query, variables: o.variables }, kind: o.kind })) };
  });
  return fc.tuple(fc.constantFrom(...callers), fc.oneof(...perDoor)).map(([caller, c]) => ({ ...c, caller }));
}

async function send(c: Case): Promise<{ status: number; text: string; body: GraphQLResponse | undefined }> {
  const door = doors.find((d) => d.name === c.door)!;
  const token = c.caller === 'anonymous' ? undefined : tokens[c.caller];
  const response = await fetch(door.url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify(c.operation),
    signal: AbortSignal.timeout(30_000),
  });
  const text = await response.text();
  let body: GraphQLResponse | undefined;
  try {
    body = JSON.parse(text) as GraphQLResponse;
  } catch {
    body = undefined;
  }
  return { status: response.status, text, body };
}

/** Everything wrong with one answer. */
function problemsOf(c: Case, answer: { status: number; text: string; body: GraphQLResponse | undefined }): string[] {
  const problems: string[] = [];
  if (answer.status >= 500) problems.push(`HTTP ${answer.status}`);
  if (!answer.body) problems.push(`a body that is not JSON: ${answer.text.slice(0, 200)}`);
  if (STACK_TRACE.test(answer.text)) problems.push('a stack trace');
  if (answer.body?.errors?.some((e) => e.extensions?.code === 'INTERNAL_SERVER_ERROR')) problems.push('INTERNAL_SERVER_ERROR');
  for (const leak of leaksIn(c.caller, answer.text, JSON.stringify(c.operation))) problems.push(`leaks ${leak}`);
  return problems;
}

describe('the cast is what the fuzzer assumes', () => {
  it('given the seeded cast, then each party of a trip sees the other (so a leak check that finds nothing is not blind)', async () => {
    const gql = graphqlClient(system.gatewayUrl);
    const seen = await gql<{ trip: { passenger: { name: string }; driver: { name: string; vehicle: { plate: string } } } }>(
      'query ($t: ID!) { trip(id: $t) { passenger { name } driver { name vehicle { plate } } } }',
      { token: tokens.P1!, variables: { t: trips.T1 } },
    );
    expect(seen.data?.trip).toEqual({ passenger: { name: cast.P1.name }, driver: { name: cast.D1.name, vehicle: { plate: cast.D1.plate } } });
    // and the same answer, read by P2, would be a leak
    expect(leaksIn('P2', JSON.stringify(seen), '')).toEqual([`P1's ${cast.P1.name}`, `D1's ${cast.D1.name}`, `D1's ${cast.D1.plate}`]);
  });
});

describe('issue 20, example 2: operator injection through _entities, straight to profile-queries', () => {
  const operators = () => [{ $ne: '' }, { $regex: '.' }, { $gt: '' }, { $nin: [cast.D1.id] }];
  it.each(['$ne', '$regex', '$gt', '$nin'])('given passenger P1 (one trip, with D1), when a Driver representation has an id {"%s": …}, then BAD_USER_INPUT and no other driver in the answer', async (operator) => {
    const id = operators().find((o) => operator in o)!;
    const c: Case = { door: 'profile-queries', caller: 'P1', kind: '_entities', operation: { query: 'query ($r: [_Any!]!) { _entities(representations: $r) { ... on Driver { id name vehicle { plate } } } }', variables: { r: [{ __typename: 'Driver', id }] } } };
    const answer = await send(c);
    expect(problemsOf(c, answer)).toEqual([]);
    expect(answer.body?.errors?.map((e) => e.extensions?.code)).toEqual(['BAD_USER_INPUT']);
  });
});

describe('the authorization fuzzer: every door, every role, hostile inputs', () => {
  it(`given ${RUNS} generated operations and representations (seed ${SEED}), then no answer holds another identity's data, and none is a 5xx or carries a stack trace`, async () => {
    console.info(`authorization fuzzer: ${RUNS} cases, seed ${SEED} (FUZZ_SEED=${SEED} FUZZ_RUNS=${RUNS} reproduces it)`);
    const stats = { cases: 0, byDoor: new Map<string, number>(), byKind: new Map<string, number>(), codes: new Map<string, number>(), answeredWithData: 0, samples: new Map<string, Set<string>>() };
    const count = (map: Map<string, number>, key: string) => map.set(key, (map.get(key) ?? 0) + 1);
    try {
      await fc.assert(
        fc.asyncProperty(casesOf(), async (c) => {
          const answer = await send(c);
          stats.cases++;
          count(stats.byDoor, c.door);
          count(stats.byKind, c.kind);
          for (const e of answer.body?.errors ?? []) {
            const code = String(e.extensions?.code);
            count(stats.codes, code);
            const samples = stats.samples.get(code) ?? new Set<string>();
            if (samples.size < 4) stats.samples.set(code, samples.add(e.message.slice(0, 120)));
          }
          if (answer.body?.data && Object.values(answer.body.data).some((v) => v !== null)) stats.answeredWithData++;
          const problems = problemsOf(c, answer);
          if (problems.length > 0) throw new Error(`${c.caller} → ${c.door} (${c.kind}): ${problems.join('; ')}\nanswer: ${answer.text.slice(0, 600)}`);
        }),
        { numRuns: RUNS, seed: SEED, endOnFailure: true },
      );
    } finally {
      console.info(
        `authorization fuzzer: ${stats.cases} cases (seed ${SEED}); doors ${JSON.stringify(Object.fromEntries(stats.byDoor))}; kinds ${JSON.stringify(Object.fromEntries(stats.byKind))}; ` +
          `${stats.answeredWithData} answered with data; codes ${JSON.stringify(Object.fromEntries([...stats.codes].sort((a, b) => b[1] - a[1])))}`,
      );
      console.info(`authorization fuzzer, some messages by code: ${JSON.stringify(Object.fromEntries([...stats.samples].map(([code, set]) => [code, [...set]])), null, 1)}`);
    }
    // Not blind: some answers carried data, and every door was tried.
    expect(stats.answeredWithData).toBeGreaterThan(0);
    expect(new Set(stats.byDoor.keys())).toEqual(new Set(doors.map((d) => d.name)));
  }, 600_000);
});
