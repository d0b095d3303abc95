/**
 * Three saga worker processes share one durable consumer, the saga store and the deadlines. A
 * batch of charged trips runs through creation, dispatch and (for half) a cancellation with a
 * refund, while one worker is killed with SIGKILL at a moment it holds work: a saga step it
 * decided is persisted in the outbox and not carried out. It stays down. The other two take its
 * outboxes, deadlines and unacknowledged deliveries over; every saga ends once, every charge
 * is settled once (kept by a trip that went ahead, or refunded exactly once), no trip is stuck.
 * Every execution of every command is counted per worker from the services' logs: each command
 * runs once in all, and the command the killed worker held is carried out by a survivor.
 */
import { connectNats, JetStreamEventStore, type Nats } from '@happyride/eventstore';
import { connectMongo, type Mongo } from '@happyride/platform';
import { dispatchSagaId, MongoSagaStore, SIMULATED_CHARGES, SIMULATED_REFUNDS, settleTripEndSagaId, tripCreationSagaId, type SagaCommand } from '@happyride/sagas';
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { dispatchActors, offset, somewhereNew, type Position } from '../support/dispatch.ts';
import { eventually } from '../support/graphql-client.ts';
import { expectMoneyConserved } from '../support/money-conservation.ts';
import { natsUrl } from '../support/own-event-log.ts';
import { startTestSystem } from '../support/system.ts';

const TRIPS = 8;
const database = `e2e_workers_${randomUUID().slice(0, 8)}`;
let system: Awaited<ReturnType<typeof startTestSystem>>;
let actors: ReturnType<typeof dispatchActors>;
let mongo: Mongo;
let nats: Nats;
let events: JetStreamEventStore;
let sagas: MongoSagaStore;

beforeAll(async () => {
  system = await startTestSystem(
    {
      MONGODB_DATABASE: database,
      // dispatchActors' trips are 2 km: 10 + 2 × 50 = 110, charged during creation (above 100).
      FARE_BASE: '10',
      FARE_PER_KM: '50',
      PAYMENT_REQUIRED_ABOVE: '100',
      // Slow motion: each command waits a while in its outbox, so sagas are in flight when the kill lands.
      SAGA_STEP_DELAY_MS: '400',
      SAGA_POLL_INTERVAL_MS: '100',
      // How soon a living worker looks for the dead one's outboxes and deadlines.
      SAGA_IDLE_POLL_INTERVAL_MS: '1000',
      // Above what a living worker may take for one step on a loaded machine (a slower one is taken over and the step carried out twice).
      SAGA_OUTBOX_LEASE_MS: '10000',
      PAYMENT_PROVIDER_TIMEOUT_MS: '2000',
      DISPATCH_CHECK_INTERVAL_MS: '2000',
      DISPATCH_MAX_CHECKS: '20',
    },
    { replicas: { 'saga-worker': 3 } },
  );
  actors = dispatchActors(system.gatewayUrl);
  mongo = await connectMongo(inject('mongoUrl'), database, 'e2e-saga-workers');
  sagas = new MongoSagaStore(mongo.db);
  nats = await connectNats(natsUrl(), 'e2e-saga-workers');
  events = new JetStreamEventStore(nats.js, nats.jsm);
}, 240_000);
afterAll(async () => {
  await nats?.close();
  await mongo?.close();
  await system?.stop();
});

interface LogLine {
  service: string;
  msg?: string;
  sagaId?: string;
  commands?: string[];
  commandId?: string;
}

/** The services' JSON log lines so far (the launcher writes them to the test's log file). */
function logLines(): LogLine[] {
  return readFileSync(system.logFile, 'utf8')
    .split('\n')
    .flatMap((line) => {
      const space = line.indexOf(' ');
      try {
        // The instance's name (`saga-worker-2`) as the launcher prefixed it; the JSON's own `service` is the service's.
        return [{ ...(JSON.parse(line.slice(space + 1)) as Omit<LogLine, 'service'>), service: line.slice(0, space) }];
      } catch {
        return []; // the launcher's own lines, or a line split across two reads
      }
    });
}

/** Waits until `worker` has decided a step whose command is still in the outbox: it holds that work now. */
async function workHeldBy(worker: string): Promise<{ sagaId: string; commandId: string } | undefined> {
  const held = async () => {
    for (const line of logLines().reverse()) {
      if (line.service !== worker || line.msg !== 'saga decided' || !line.sagaId || !line.commands?.length) continue;
      const stored = await sagas.load<unknown, SagaCommand>(line.sagaId);
      const commandId = line.commands.find((id) => stored?.pending.some((command) => command.commandId === id));
      if (commandId) return { sagaId: line.sagaId, commandId };
    }
    return undefined;
  };
  return eventually(held, (found) => found !== undefined, 60_000);
}

/**
 * Freezes `worker` (SIGSTOP) at a moment it holds a step: found held, frozen, then checked again
 * (it may have carried the step out between the look and the freeze: then it runs on and the
 * look is repeated), so the SIGKILL that follows lands while the step is still in its outbox.
 */
async function frozenHolding(worker: string): Promise<{ sagaId: string; commandId: string } | undefined> {
  const pid = system.pid(worker);
  if (pid === undefined) return undefined;
  return eventually(
    async () => {
      const held = await workHeldBy(worker);
      process.kill(pid, 'SIGSTOP');
      const stored = held && (await sagas.load<unknown, SagaCommand>(held.sagaId));
      if (stored?.pending.some((command) => command.commandId === held?.commandId)) return held;
      process.kill(pid, 'SIGCONT');
      return undefined;
    },
    (found) => found !== undefined,
    60_000,
  );
}

const typesIn = async (aggregate: 'trip' | 'payment', id: string) => (await events.read(aggregate, id)).events.map((event) => event.type);
const count = (types: string[], ...wanted: string[]) => types.filter((type) => wanted.includes(type)).length;

interface Ride {
  tripId: string;
  passenger: { id: string; token: string };
  driver: { id: string; token: string; position: Position };
  /** Driven to FINISHED, or cancelled by the passenger while dispatching (then refunded). */
  plan: 'drive' | 'cancel';
}

/** One ride to its end through the gateway, as the apps would do it. */
async function ride({ tripId, passenger, driver, plan }: Ride): Promise<void> {
  await actors.waitForState(tripId, ['DISPATCHING'], 90_000);
  if (plan === 'cancel') {
    await actors.must('mutation ($t: ID!) { cancelTrip(input: { tripId: $t, reason: "changed my mind" }) { id } }', passenger.token, { t: tripId });
    return;
  }
  // The dispatch worker offers once it knows the driver (its feed may lag the location update).
  await eventually(async () => (await actors.accept(driver.token, tripId, driver.position)).errors, (errors) => errors === undefined, 60_000);
  await actors.waitForState(tripId, ['DRIVER_ASSIGNED'], 90_000);
  await actors.must('mutation ($t: ID!) { startTrip(input: { tripId: $t }) { id } }', driver.token, { t: tripId });
  await actors.must('mutation ($t: ID!) { finishTrip(input: { tripId: $t }) { id } }', driver.token, { t: tripId });
}

describe('three saga workers, one killed with SIGKILL mid-run', () => {
  it('given a batch of charged trips on three workers, when one is killed while it holds a saga step, then every saga ends once, every charge settles once and no trip is stuck', async () => {
    expect([system.pid('saga-worker'), system.pid('saga-worker-2'), system.pid('saga-worker-3')].every((pid) => pid !== undefined)).toBe(true);
    const setups = await Promise.all(
      Array.from({ length: TRIPS }, async (_, index): Promise<Omit<Ride, 'tripId'> & { here: Position }> => {
        const here = somewhereNew();
        const driver = await actors.onlineDriver(offset(here, 1), `Driver ${index}`);
        const passenger = await actors.passenger(`Passenger ${index}`);
        return { here, driver, passenger, plan: index % 2 === 0 ? 'drive' : 'cancel' };
      }),
    );
    const rides: Ride[] = await Promise.all(setups.map(async ({ here, ...rest }) => ({ ...rest, tripId: await actors.requestTrip(rest.passenger.token, here) })));
    const riding = Promise.allSettled(rides.map(ride));

    const held = await frozenHolding('saga-worker-2');
    expect(held, 'saga-worker-2 never held a step').toBeDefined();
    await system.kill('saga-worker-2', 'SIGKILL');
    const stored = await sagas.load<unknown, SagaCommand>(held!.sagaId);
    expect(stored?.pending.map((command) => command.commandId)).toContain(held!.commandId); // killed while holding it

    const outcomes = await riding;
    expect(outcomes.filter((outcome) => outcome.status === 'rejected')).toEqual([]);

    for (const { tripId, plan } of rides) {
      const expected = plan === 'drive' ? 'FINISHED' : 'CANCELLED';
      expect((await actors.waitForState(tripId, [expected], 60_000)).state).toBe(expected);
      // Each saga of the trip ended, its outbox empty. (Up to the ack wait, 30 s: an event fetched by the killed worker is redelivered only then.)
      // The trip's end (finished or cancelled) starts the settle-trip-end saga: nothing to charge at finish (paid at creation), a refund when cancelled.
      const sagaIds = [tripCreationSagaId(tripId), dispatchSagaId(tripId), settleTripEndSagaId(tripId)];
      for (const sagaId of sagaIds) {
        const saga = await eventually(() => sagas.load(sagaId), (doc) => doc?.ended === true && doc.pending.length === 0 && doc.pendingDeadlines.length === 0, 60_000);
        expect(saga, sagaId).toMatchObject({ ended: true, pending: [], pendingDeadlines: [] });
      }
      // Once in the log: created and confirmed once, paid once, dispatched and assigned at most once, refunded once when cancelled.
      const tripTypes = await typesIn('trip', tripId);
      const paymentTypes = await typesIn('payment', tripId);
      expect(count(tripTypes, 'TripConfirmed'), tripTypes.join()).toBe(1);
      expect(count(tripTypes, 'TripRejected')).toBe(0);
      expect(count(tripTypes, 'TripDispatchStarted')).toBe(1);
      expect(count(tripTypes, 'TripDriverAssigned')).toBe(plan === 'drive' ? 1 : 0);
      expect(paymentTypes, tripId).toEqual(plan === 'drive' ? ['PaymentCreated', 'PaymentPaid'] : ['PaymentCreated', 'PaymentPaid', 'PaymentRefunded']);
      // The provider's ledger: one charge; kept by a trip that went ahead, or refunded exactly once, as the log records.
      const charges = await mongo.db.collection(SIMULATED_CHARGES).find({ paymentId: tripId }).toArray();
      const refunds = await mongo.db.collection(SIMULATED_REFUNDS).find({ paymentId: tripId }).toArray();
      expect(charges.map((charge) => charge['outcome'])).toEqual(['PAID']);
      expect(refunds.map((refund) => refund['chargeReference'])).toEqual(plan === 'drive' ? [] : [charges[0]?.['providerReference']]);
      const recorded = (await events.read('payment', tripId)).events.filter((event) => event.type === 'PaymentRefunded').map((event) => (event.data as { refundReference?: string }).refundReference);
      expect(recorded).toEqual(refunds.map((refund) => refund['refundReference']));
    }
    // Nothing left in flight for these trips: no outbox, no armed deadline.
    expect(await sagas.instances.countDocuments({ hasPending: true })).toBe(0);
    expect(await sagas.deadlines.countDocuments({ armedOf: { $ne: null } })).toBe(0);

    // Every execution of every command, per worker, repeats by one worker included. A command is
    // carried out exactly once in all, with two exceptions from the kill: the command the killed
    // worker held is carried out by a surviving worker exactly once, and one the killed worker
    // carried out just before it froze (its completion maybe not persisted) at most once more, by
    // a survivor. The killed worker itself never carries a command out twice.
    const executions = new Map<string, Map<string, number>>();
    for (const line of logLines()) {
      if (line.msg !== 'saga command carried out' || !line.commandId) continue;
      const byWorker = executions.get(line.commandId) ?? new Map<string, number>();
      byWorker.set(line.service, (byWorker.get(line.service) ?? 0) + 1);
      executions.set(line.commandId, byWorker);
    }
    const KILLED = 'saga-worker-2';
    const bySurvivors = (byWorker: ReadonlyMap<string, number>) => [...byWorker].filter(([worker]) => worker !== KILLED).reduce((sum, [, count]) => sum + count, 0);
    const heldExecutions = executions.get(held!.commandId) ?? new Map<string, number>();
    expect(bySurvivors(heldExecutions), `${held!.commandId} (held by the killed worker), carried out by survivors: ${JSON.stringify(Object.fromEntries(heldExecutions))}`).toBe(1);
    const wrong = [...executions]
      .filter(([commandId, byWorker]) => {
        const killed = byWorker.get(KILLED) ?? 0;
        const survivors = bySurvivors(byWorker);
        if (commandId === held!.commandId) return killed > 1;
        return killed === 0 ? survivors !== 1 : killed > 1 || survivors > 1;
      })
      .map(([commandId, byWorker]) => [commandId, Object.fromEntries(byWorker)]);
    expect(wrong, 'commands carried out more often than once (executions per worker)').toEqual([]);
    // Every command of these trips' sagas was carried out (none lost with the killed worker).
    for (const { tripId, plan } of rides) {
      for (const step of ['check-passenger', 'create-payment', 'pay-payment', 'confirm-trip']) expect(executions.has(`${tripCreationSagaId(tripId)}:${step}`), `${tripId} ${step}`).toBe(true);
      const settle = `${settleTripEndSagaId(tripId)}:${plan === 'cancel' ? 'refund-paid-payment' : 'charge-fare'}`;
      expect(executions.has(settle), `${tripId} ${settle}`).toBe(true);
    }

    // The money rule over every trip of the run, ledger against log.
    expect((await expectMoneyConserved(system)).charged).toBe(TRIPS);
  }, 240_000);
});
