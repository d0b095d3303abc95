import { randomUUID } from 'node:crypto';
import { DEV_JWT_SECRET, signToken } from '@happyride/platform';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dispatchActors, somewhereNew } from '../support/dispatch.ts';
import { until } from '../support/eventually.ts';
import { tokenFor } from '../support/graphql-client.ts';
import { startTestSystem } from '../support/system.ts';
import { rawSocket } from '../support/websocket.ts';

/**
 * The gateway's WebSocket limits (README, "WebSocket close codes"), with small limits so each
 * is reached with a few sockets: one system, tests in order (the per-IP one first, while no
 * other socket is open).
 */
const LIMITS = { perIp: 6, perIdentity: 2, perSocket: 3, payloadBytes: 4096 };
let system: Awaited<ReturnType<typeof startTestSystem>>;
let trip: { id: string; token: string };

beforeAll(async () => {
  system = await startTestSystem({
    WS_MAX_SOCKETS_PER_IP: String(LIMITS.perIp),
    WS_MAX_SOCKETS_PER_IDENTITY: String(LIMITS.perIdentity),
    WS_MAX_SUBSCRIPTIONS_PER_SOCKET: String(LIMITS.perSocket),
    WS_MAX_PAYLOAD_BYTES: String(LIMITS.payloadBytes),
    WS_CONNECTION_INIT_TIMEOUT_MS: '30000',
  });
  const actors = dispatchActors(system.gatewayUrl);
  const passenger = await actors.passenger();
  const id = await actors.requestTrip(passenger.token, somewhereNew());
  await actors.waitForState(id, ['CREATED', 'CONFIRMED', 'DISPATCHING', 'DISPATCH_FAILED']);
  trip = { id, token: passenger.token };
}, 180_000);
afterAll(() => system?.stop());

const FOLLOW = 'subscription ($t: ID!) { tripUpdates(tripId: $t) { id state } }';
type Socket = Awaited<ReturnType<typeof rawSocket>>;

/** Waits for `ok`; fails the test when it does not hold in time. */
const waitFor = (ok: () => boolean, what: string) => until(ok, { what, timeoutMs: 15_000 });

/** Opens a socket and sends `connection_init`: 'ack', or the code it was closed with. */
async function connect(token: string): Promise<{ socket: Socket; outcome: string }> {
  const socket = await rawSocket(system.gatewayUrl);
  let closedWith: number | undefined;
  void socket.closed.then(({ code }) => (closedWith = code));
  socket.send({ type: 'connection_init', payload: { authorization: `Bearer ${token}` } });
  await waitFor(() => closedWith !== undefined || socket.messages.some((m) => m.type === 'connection_ack'), 'an ack or a close');
  return { socket, outcome: closedWith === undefined ? 'ack' : String(closedWith) };
}

/** The server learns of a close a moment after the client: retries until served, or fails. */
async function connectOnceReleased(token: string): Promise<Socket> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const { socket, outcome } = await connect(token);
    if (outcome === 'ack') return socket;
    if (Date.now() > deadline) throw new Error(`still refused with ${outcome}`);
  }
}

async function closeAll(sockets: Socket[]): Promise<void> {
  await Promise.all(
    sockets.map(async (socket) => {
      socket.close();
      await socket.closed;
    }),
  );
}

const messagesFor = (socket: Socket, id: string) => socket.messages.filter((m) => m.id === id);

describe('sockets per IP and per identity', () => {
  it(`given ${LIMITS.perIp} sockets open from one address, when one more opens, then it is closed with 4430; once one closes, a new one is served`, async () => {
    const open: Socket[] = [];
    try {
      for (let i = 0; i < LIMITS.perIp; i++) open.push(await rawSocket(system.gatewayUrl));

      const refused = await rawSocket(system.gatewayUrl);
      expect(await refused.closed).toMatchObject({ code: 4430 });

      await closeAll(open.splice(0, 1));
      open.push(await connectOnceReleased(await tokenFor('admin', `ops-${randomUUID().slice(0, 8)}`)));
      expect(open.at(-1)!.messages.some((m) => m.type === 'connection_ack')).toBe(true);
    } finally {
      await closeAll(open);
    }
  });

  it(`given ${LIMITS.perIdentity} sockets of one driver, when a third connects, then it is closed with 4430 and other identities are unaffected; once one closes, the driver connects again`, async () => {
    const token = await tokenFor('driver', `d-${randomUUID().slice(0, 8)}`);
    const open: Socket[] = [];
    try {
      for (let i = 0; i < LIMITS.perIdentity; i++) {
        const { socket, outcome } = await connect(token);
        open.push(socket);
        expect(outcome).toBe('ack');
      }

      const third = await connect(token);
      expect(third.outcome).toBe('4430');
      const someoneElse = await connect(await tokenFor('driver', `d-${randomUUID().slice(0, 8)}`));
      open.push(someoneElse.socket);
      expect(someoneElse.outcome).toBe('ack');

      await closeAll(open.splice(0, 1));
      open.push(await connectOnceReleased(token));
    } finally {
      await closeAll(open);
    }
  });
});

describe('subscriptions per socket', () => {
  it(`given ${LIMITS.perSocket} subscriptions on a socket, when one more is sent, then it gets an error SUBSCRIPTION_LIMIT_EXCEEDED, the others keep running, and after one completes a new one is served`, async () => {
    const { socket, outcome } = await connect(trip.token);
    try {
      expect(outcome).toBe('ack');
      for (let i = 1; i <= LIMITS.perSocket; i++) socket.send({ type: 'subscribe', id: `s${i}`, payload: { query: FOLLOW, variables: { t: trip.id } } });
      await waitFor(() => [1, 2, 3].every((i) => messagesFor(socket, `s${i}`).some((m) => m.type === 'next')), 'the first payloads');

      socket.send({ type: 'subscribe', id: 'over', payload: { query: FOLLOW, variables: { t: trip.id } } });
      await waitFor(() => messagesFor(socket, 'over').length > 0, 'the answer to one too many');
      expect(messagesFor(socket, 'over')).toEqual([
        { type: 'error', id: 'over', payload: [expect.objectContaining({ extensions: expect.objectContaining({ code: 'SUBSCRIPTION_LIMIT_EXCEEDED' }) })] },
      ]);

      socket.send({ type: 'complete', id: 's1' });
      socket.send({ type: 'subscribe', id: 'after', payload: { query: FOLLOW, variables: { t: trip.id } } });
      await waitFor(() => messagesFor(socket, 'after').length > 0, 'the answer after one completed');
      expect(messagesFor(socket, 'after')[0]).toMatchObject({ type: 'next', payload: { data: { tripUpdates: { id: trip.id } } } });
    } finally {
      await closeAll([socket]);
    }
  });
});

describe('malformed and unauthorised subscriptions', () => {
  const cases: Array<[string, { query: string; variables?: Record<string, unknown> }, string]> = [
    ['a tripId that is not an id', { query: FOLLOW, variables: { t: '../../etc/passwd' } }, 'BAD_USER_INPUT'],
    // Unknown and someone else's answer alike (FORBIDDEN) to a caller who may not see it.
    ['an unknown trip', { query: FOLLOW, variables: { t: `t-${randomUUID()}` } }, 'FORBIDDEN'],
    ['an unknown field', { query: 'subscription { tripUpdates(tripId: "x") { id nope } }' }, 'GRAPHQL_VALIDATION_FAILED'],
    ['a tripId of the wrong type', { query: FOLLOW, variables: { t: { $gt: '' } } }, 'BAD_USER_INPUT'],
    ['a missing tripId', { query: FOLLOW }, 'BAD_USER_INPUT'],
    ['a query instead of a subscription', { query: '{ __typename }' }, 'BAD_REQUEST'],
    ['two root fields', { query: 'subscription ($t: ID!) { a: tripUpdates(tripId: $t) { id } b: tripUpdates(tripId: $t) { id } }', variables: { t: 'x' } }, 'GRAPHQL_VALIDATION_FAILED'], // graphql's single-root-field rule
    ['a syntax error', { query: 'subscription {' }, 'GRAPHQL_PARSE_FAILED'],
  ];

  it('given each malformed subscribe, then an error with a code answers it and the socket stays open for a valid one', async () => {
    const { socket, outcome } = await connect(trip.token);
    try {
      expect(outcome).toBe('ack');
      for (const [what, payload, code] of cases) {
        const id = `bad-${cases.findIndex(([w]) => w === what)}`;
        socket.send({ type: 'subscribe', id, payload });
        await waitFor(() => messagesFor(socket, id).length > 0, `the answer to ${what}`);
        const [answer] = messagesFor(socket, id) as Array<{ type: string; payload: Array<{ extensions?: { code?: string } }> }>;
        expect({ what, type: answer?.type, code: answer?.payload[0]?.extensions?.code }).toEqual({ what, type: 'error', code });
      }

      socket.send({ type: 'subscribe', id: 'good', payload: { query: FOLLOW, variables: { t: trip.id } } });
      await waitFor(() => messagesFor(socket, 'good').length > 0, 'the valid subscription');
      expect(messagesFor(socket, 'good')[0]).toMatchObject({ type: 'next' });
    } finally {
      await closeAll([socket]);
    }
  });

  it("given someone else's trip, then FORBIDDEN, and the socket stays open", async () => {
    const { socket, outcome } = await connect(await tokenFor('passenger', `p-${randomUUID().slice(0, 8)}`));
    try {
      expect(outcome).toBe('ack');
      socket.send({ type: 'subscribe', id: 'theirs', payload: { query: FOLLOW, variables: { t: trip.id } } });
      await waitFor(() => messagesFor(socket, 'theirs').length > 0, 'the answer');
      expect(messagesFor(socket, 'theirs')[0]).toMatchObject({ type: 'error', payload: [{ extensions: { code: 'FORBIDDEN' } }] });
      socket.send({ type: 'ping' });
      await waitFor(() => socket.messages.some((m) => m.type === 'pong'), 'a pong');
    } finally {
      await closeAll([socket]);
    }
  });
});

describe('message size and token expiry', () => {
  it(`given a message over ${LIMITS.payloadBytes} bytes, then the socket is closed with 1009`, async () => {
    const { socket, outcome } = await connect(trip.token);
    expect(outcome).toBe('ack');
    socket.send({ type: 'subscribe', id: 'big', payload: { query: FOLLOW, variables: { t: trip.id, padding: 'x'.repeat(LIMITS.payloadBytes) } } });
    expect((await socket.closed).code).toBe(1009);
  });

  it('given a socket whose token expires in 2 s, then the socket is closed with 4403 at expiry', async () => {
    const passengerId = `p-${randomUUID().slice(0, 8)}`;
    const token = await signToken({ id: passengerId, role: 'passenger' }, process.env['JWT_SECRET'] ?? DEV_JWT_SECRET, { expiresIn: '2s' });
    const { socket, outcome } = await connect(token);
    const openedAt = Date.now();
    expect(outcome).toBe('ack');

    const closed = await socket.closed;

    expect(closed.code).toBe(4403);
    expect(Date.now() - openedAt).toBeLessThan(10_000); // at expiry (2 s, JWT seconds rounding), not at some later sweep
  });
});
