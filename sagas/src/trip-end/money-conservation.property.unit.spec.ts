/**
 * Money is conserved (DOMAIN.md), property-based: for every way a trip can end, what the
 * provider charged minus what it refunded is the fare if the trip FINISHED, and zero otherwise.
 * One exception, and no other: the charge at finish (of a fare the creation saga did not charge)
 * was declined; the payment is DECLINED, its log exactly PaymentCreated, PaymentDeclined (the
 * decline recorded under the settle-trip-end saga's charge), and the passenger owes the fare.
 *
 * Each case drives the real saga deciders (trip creation, settlement of the trip's end), the real
 * output handler and the real trip, passenger and payment deciders, on the in-memory event store
 * and an in-memory provider with a ledger (`testing/`), through a generated interleaving of:
 * event deliveries and redeliveries, outbox commands carried out (or carried out and then
 * "crashed": not marked done, so carried out again), the payment deadline firing, a charge that
 * lands late, the reconciliation, and the outside world (the passenger cancelling at any moment,
 * dispatch failing for either reason or assigning a driver who finishes; dispatch's own commands
 * are sent as its saga would, with the system actor). Then everything is run to its end.
 */
import { commandHandler, InMemoryEventStore } from '@happyride/eventstore';
import {
  DomainError,
  fold,
  passengerDecider,
  tripDecider,
  type Actor,
  type PassengerCommand,
  type PaymentEvent,
  type TripCommand,
  type TripState,
} from '@happyride/domain';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { settleLateCharge } from '../payments/late-charges.ts';
import { createOutputHandler } from '../runtime/output-handler.ts';
import { VirtualClock } from '../runtime/clock.ts';
import type { SagaInputBase } from '../runtime/saga.ts';
import type { CommandExecutor } from '../runtime/runner.ts';
import type { SagaCommand } from '../runtime/commands.ts';
import { cents, InMemoryPaymentProvider, type ChargeBehaviour } from '../testing/in-memory-provider.ts';
import { anySaga, SagaWorld } from '../testing/saga-world.ts';
import { createTripCreationSaga, defaultTripCreationConfig, tripCreationSagaId, type TripCreationState } from '../trip-creation/trip-creation-saga.ts';
import { stepCommandId } from '../runtime/saga.ts';
import { CHARGE_FARE_STEP, createSettleTripEndSaga, settleTripEndSagaId, type SettleTripEndState } from './settle-trip-end-saga.ts';

const tripId = 't1';
const passengerId = 'p1';
const driverId = 'd1';
const passenger: Actor = { id: passengerId, role: 'passenger' };
const driver: Actor = { id: driverId, role: 'driver' };
const admin: Actor = { id: 'a1', role: 'admin' };
const system: Actor = { id: 'system', role: 'system' };
/** The charge at finish: its command id and idempotency key. */
const atFinish = stepCommandId(settleTripEndSagaId(tripId), CHARGE_FARE_STEP);
const config = defaultTripCreationConfig; // pays a fare above 100; rejects a trip over 100 km
const start = { lng: 2.35, lat: 48.85 };
const KM_PER_DEGREE_LAT = 111.195;

interface Scenario {
  distanceKm: number;
  banned: boolean;
  /** How the provider treats the creation saga's charge (a fare above the threshold). */
  charge: ChargeBehaviour;
  /** How it treats the charge at finish (a fare at or below the threshold, never charged before). */
  finishCharge: ChargeBehaviour;
  /** What dispatch does once the trip is confirmed. */
  dispatch: 'NO_DRIVERS_AVAILABLE' | 'NO_DRIVER_ACCEPTED' | 'FINISH';
  /** The passenger cancels from this step on, if the trip can still be cancelled (after assignment: asks, the driver agrees). */
  cancelFrom: number | null;
  /** The interleaving: each number picks one of the actions possible at that moment. */
  choices: number[];
  /** How many crashes (a command carried out twice, an event redelivered) the interleaving may use. */
  crashes: number;
  /** The worker dies once right after carrying out the charge at finish (before its completion is persisted), whenever it comes. */
  crashAtFinish: boolean;
  /** In the run to the end, a hanging charge lands only after the armed deadline fired (so after a cancelled payment: a late charge). */
  landAfterDeadline: boolean;
}

const chargeBehaviours = fc.oneof(
  fc.constant<ChargeBehaviour>({ kind: 'pay' }),
  fc.constant<ChargeBehaviour>({ kind: 'decline' }),
  fc.integer({ min: 1, max: 3 }).map((lostAnswers): ChargeBehaviour => ({ kind: 'late', lostAnswers })),
  fc.constant<ChargeBehaviour>({ kind: 'hang' }),
);

const scenarios: fc.Arbitrary<Scenario> = fc.record({
  // The fare is 10 + 2.5 × km: above 100 from 36 km on; over 100 km the trip is rejected.
  distanceKm: fc.oneof(fc.double({ min: 0.5, max: 80, noNaN: true }), fc.constantFrom(35.9, 36.1, 42.7, 100.5)),
  banned: fc.boolean(),
  charge: chargeBehaviours,
  finishCharge: chargeBehaviours,
  dispatch: fc.constantFrom('NO_DRIVERS_AVAILABLE', 'NO_DRIVER_ACCEPTED', 'FINISH'),
  cancelFrom: fc.option(fc.nat({ max: 40 }), { nil: null }),
  choices: fc.array(fc.nat(), { maxLength: 120 }),
  crashes: fc.integer({ min: 0, max: 4 }),
  crashAtFinish: fc.boolean(),
  landAfterDeadline: fc.boolean(),
});

const MONEY_SEED = Number(process.env['MONEY_SEED'] ?? 20_020);

/** Issue 20, example 1: a 42.7 km trip (fare 116.75, charged), no driver online. */
const example1: Scenario = { distanceKm: 42.7, banned: false, charge: { kind: 'pay' }, finishCharge: { kind: 'pay' }, dispatch: 'NO_DRIVERS_AVAILABLE', cancelFrom: null, choices: [], crashes: 0, crashAtFinish: false, landAfterDeadline: false };

type Action = { name: string; run: () => Promise<unknown> };

/** One trip's world: the event log, the provider, the sagas, and the outside world's next moves. */
async function play(scenario: Scenario) {
  const store = new InMemoryEventStore();
  const clock = new VirtualClock();
  const provider = new InMemoryPaymentProvider((request) => (request.idempotencyKey === atFinish ? scenario.finishCharge : scenario.charge));
  const handler = createOutputHandler({ store, provider, clock, chargeTimeoutMs: 60_000 }) as CommandExecutor<SagaInputBase, SagaCommand>;
  const world = new SagaWorld(store, [anySaga(createTripCreationSaga(config)), anySaga(createSettleTripEndSaga())], handler);
  let sent = 0;
  const metadata = (actor: Actor) => ({ commandId: `outside-${++sent}`, actor, now: clock.now().toISOString() });
  const trips = commandHandler({ store, aggregateType: 'trip', decider: tripDecider });
  const passengers = commandHandler({ store, aggregateType: 'passenger', decider: passengerDecider });
  const trip = async (command: Omit<TripCommand, 'metadata'>, actor: Actor) => trips(tripId, { ...command, metadata: metadata(actor) } as TripCommand, { correlationId: 'outside' });
  const tripNow = async (): Promise<TripState> => fold(tripDecider, (await store.read('trip', tripId)).events);

  await passengers(passengerId, { type: 'RegisterPassenger', data: { passengerId, name: 'Pat' }, metadata: metadata(passenger) } as PassengerCommand, { correlationId: 'outside' });
  if (scenario.banned) await passengers(passengerId, { type: 'BanPassenger', data: { passengerId }, metadata: metadata(admin) } as PassengerCommand, { correlationId: 'outside' });
  const end = { lng: start.lng, lat: start.lat + scenario.distanceKm / KM_PER_DEGREE_LAT };
  await trip({ type: 'RequestTrip', data: { tripId, passengerId, start, end } }, passenger);

  let cancelled = false;
  /** Steps taken so far: one per chosen action, then one per round to the end. */
  let steps = 0;
  /** The outside world's next move in the trip's current state, if it has one. */
  const outside = async (): Promise<Action[]> => {
    const state = await tripNow();
    const moves: Action[] = [];
    const move = (name: string, command: Omit<TripCommand, 'metadata'>, actor: Actor) => moves.push({ name, run: () => trip(command, actor) });
    if (scenario.cancelFrom !== null && steps >= scenario.cancelFrom && !cancelled && ['CREATED', 'CONFIRMED', 'DISPATCHING', 'DRIVER_ASSIGNED'].includes(state.status)) {
      moves.push({
        name: 'cancel',
        run: async () => {
          cancelled = true;
          await trip({ type: 'CancelTrip', data: { tripId, reason: 'Plans changed.' } }, passenger);
        },
      });
    }
    if (state.status === 'NONE') return moves;
    const data = { tripId };
    switch (state.status) {
      case 'CONFIRMED':
        if (scenario.dispatch === 'NO_DRIVERS_AVAILABLE') move('no drivers', { type: 'FailDispatch', data: { ...data, reason: 'NO_DRIVERS_AVAILABLE' } }, system);
        else move('dispatch', { type: 'StartDispatch', data: { ...data, candidateDriverIds: [driverId] } }, system);
        break;
      case 'DISPATCHING':
        if (scenario.dispatch === 'NO_DRIVER_ACCEPTED') move('none accepted', { type: 'FailDispatch', data: { ...data, reason: 'NO_DRIVER_ACCEPTED' } }, system);
        else if (state.acceptances.length === 0) move('accept', { type: 'AcceptTrip', data: { ...data, driverId, position: start, lastReport: null } }, driver);
        else move('assign', { type: 'AssignDriver', data: { ...data, driverId } }, system);
        break;
      case 'DRIVER_ASSIGNED':
        if (!cancelled) move('start', { type: 'StartTrip', data }, driver);
        break;
      case 'STARTED':
        move('finish', { type: 'FinishTrip', data }, driver);
        break;
      case 'CANCELLATION_REQUESTED':
        move('agree', { type: 'RespondToCancellation', data: { ...data, agree: true } }, driver);
        break;
      default:
        break;
    }
    return moves;
  };

  /** The reconciliation's pass over every charge (`PaymentReconciler` without its cursor). */
  const reconcile = async () => {
    for (const charge of await provider.listCharges()) await settleLateCharge({ store, provider, clock }, charge, { correlationId: 'reconcile' });
  };

  let crashes = scenario.crashes;
  let crashAtFinish = scenario.crashAtFinish;
  const possible = async (): Promise<Action[]> => {
    const actions: Action[] = [];
    if (world.undelivered > 0) actions.push({ name: 'deliver', run: async () => world.deliverNext() });
    for (const instance of world.withOutbox) {
      for (const command of instance.outbox) {
        actions.push({ name: `execute ${command.commandId}`, run: () => world.execute(instance, command) });
        if (crashes > 0) actions.push({ name: `crash after ${command.commandId}`, run: () => (crashes--, world.execute(instance, command, { crash: true })) });
      }
    }
    if (crashes > 0 && world.delivered > 0) actions.push({ name: 'redeliver', run: async () => (crashes--, world.redeliver(scenario.choices.length + crashes)) });
    for (const deadline of world.armedDeadlines) actions.push({ name: `fire ${deadline.name}`, run: async () => world.fire(deadline) });
    if (provider.landable) actions.push({ name: 'land the late charge', run: async () => provider.land() });
    actions.push({ name: 'reconcile', run: reconcile });
    actions.push(...(await outside()));
    return actions;
  };

  const trace: string[] = [];
  const act = async (action: Action) => {
    trace.push(action.name);
    try {
      await action.run();
    } catch (error) {
      if (!(error instanceof DomainError)) throw error; // the outside world's move refused: it just did not happen
    }
  };
  for (const choice of scenario.choices) {
    steps++;
    const actions = await possible();
    await act(actions[choice % actions.length]!);
  }

  // Then to the end, without crashes (but the one at finish): deliver, carry out, let the world
  // move; only when nothing else moves, a late charge lands, then a deadline fires (the other
  // way round with `landAfterDeadline`), then the reconciliation runs.
  for (let round = 0; ; round++) {
    steps++;
    if (round > 200) throw new Error(`Did not settle: ${trace.slice(-40).join(' → ')}`);
    const outboxes = () => world.withOutbox.flatMap((instance) => instance.outbox.map((command) => command.commandId)).join();
    const before = { events: store.all.length, outbox: outboxes() };
    while (world.undelivered > 0) world.deliverNext();
    for (const instance of crashAtFinish ? world.withOutbox : []) {
      const charge = instance.outbox.find((command) => command.commandId === atFinish);
      if (charge && (await world.execute(instance, charge, { crash: true })) === 'crashed') {
        crashAtFinish = false;
        trace.push(`crash after ${atFinish}`);
      }
    }
    let failed = false;
    for (const instance of world.withOutbox) if ((await world.flush(instance)) === 'failed') failed = true;
    const [next] = await outside();
    if (next) await act(next);
    const moved = store.all.length !== before.events || outboxes() !== before.outbox || world.undelivered > 0;
    if (moved) continue;
    const deadline = world.armedDeadlines[0];
    if (deadline && provider.landable && scenario.landAfterDeadline) await act({ name: 'fire', run: async () => world.fire(deadline) });
    else if (provider.landable) await act({ name: 'land the late charge', run: async () => provider.land() });
    else if (failed) continue; // a failed command is tried again next round (a late answer comes in the end)
    else if (world.armedDeadlines[0]) await act({ name: 'fire', run: async () => world.fire(world.armedDeadlines[0]!) });
    else {
      await reconcile();
      if (store.all.length === before.events) break;
    }
  }

  const tripState = await tripNow();
  const payment = (await store.read('payment', tripId)).events;
  return { tripState, payment, provider, world, trace, store };
}

const refundReferences = (events: readonly PaymentEvent[]) =>
  events.flatMap((event) => (event.type === 'PaymentRefunded' ? [event.data.refundReference] : event.type === 'PaymentLateChargeRefunded' ? [event.data.refundReference] : []));

describe('money is conserved on every path a trip can take', () => {
  it('given any trip, charge behaviour, dispatch outcome, cancellation moment and crashes, when it has ended, then the provider kept the fare of a FINISHED trip and nothing of any other', async () => {
    const seen = new Set<string>();
    let crashed = 0;
    /** Small-fare trips FINISHED whose charge at finish lost its answers or hung, or was carried out then "crashed". */
    let lateAtFinish = 0;
    let crashedAtFinish = 0;
    await fc.assert(
      fc.asyncProperty(scenarios, async (scenario) => {
        const { tripState, payment, provider, world, trace, store } = await play(scenario);
        const why = `${JSON.stringify({ ...scenario, choices: scenario.choices.length })}\n${trace.join(' → ')}`;
        expect(tripState.status === 'NONE' ? 'NONE' : tripState.status, why).toMatch(/^(FINISHED|REJECTED|DISPATCH_FAILED|CANCELLED)$/);
        if (tripState.status === 'NONE') return;
        const paymentRequired = tripState.fare > config.paymentRequiredAbove;
        const finished = tripState.status === 'FINISHED';
        // The one exception: the charge at finish was declined. Then the payment's log is exactly
        // created, declined, and the decline is that charge's record (the passenger owes the fare).
        const declinedAtFinish = finished && payment.map((event) => event.type).join() === 'PaymentCreated,PaymentDeclined';
        if (declinedAtFinish) {
          const decline = store.all.find((commit) => commit.aggregateType === 'payment' && commit.events.some((event) => event.type === 'PaymentDeclined'));
          expect([decline?.commandId, scenario.finishCharge.kind], why).toEqual([atFinish, 'decline']);
        }
        const expected = finished && !declinedAtFinish ? cents(tripState.fare) : 0;
        expect(provider.netCents(tripId), `${tripState.status}, fare ${tripState.fare}: ${why}`).toBe(expected);
        // A fare is charged once: at creation above the threshold, at finish at or below it; never at finish otherwise.
        expect(provider.charges.has(atFinish), `charged at finish: ${why}`).toBe(finished && !paymentRequired);
        // Every refund the provider made is in the log, once, with its reference.
        expect(refundReferences(payment).sort(), why).toEqual([...provider.refunds.values()].map((refund) => refund.refundReference).sort());
        // One owner per refund: never both sagas.
        const creation = world.instances.get(tripCreationSagaId(tripId))?.state as TripCreationState | undefined;
        const settlement = world.instances.get(settleTripEndSagaId(tripId))?.state as SettleTripEndState | undefined;
        const creationRefunded = creation?.status !== 'NOT_STARTED' && creation?.sent.includes('refund-payment') === true;
        const settlementRefunded = settlement?.status !== 'NOT_STARTED' && settlement?.outcome === 'REFUNDED';
        expect(creationRefunded && settlementRefunded, `both sagas refunded: ${why}`).toBe(false);
        // Every saga ended with an empty outbox: nothing left to do.
        for (const instance of world.instances.values()) expect({ id: instance.sagaId, ended: instance.ended, outbox: instance.outbox }, why).toEqual({ id: instance.sagaId, ended: true, outbox: [] });

        const charged = [...provider.charges.values()].some(({ result }) => result.outcome === 'PAID');
        const reason = tripState.status === 'DISPATCH_FAILED' ? `:${tripState.dispatchFailureReason}` : '';
        const late = payment.some((event) => event.type === 'PaymentLateChargeRefunded') ? ' late charge' : '';
        const confirmed = tripState.status === 'CANCELLED' && ((await store.read('trip', tripId)).events).some((event) => event.type === 'TripConfirmed') ? ' after confirmation' : '';
        const side = finished ? (paymentRequired ? ' above the threshold' : ' at or below the threshold') : '';
        seen.add(`${tripState.status}${reason}${confirmed}${side}${declinedAtFinish ? ' declined at finish' : charged ? ' charged' : ''}${late}`);
        if (trace.some((step) => step.startsWith('crash') || step === 'redeliver')) crashed++;
        if (finished && !paymentRequired && (scenario.finishCharge.kind === 'late' || scenario.finishCharge.kind === 'hang')) lateAtFinish++;
        if (trace.includes(`crash after ${atFinish}`)) crashedAtFinish++;
      }),
      // A fixed seed (MONEY_SEED to change it): the same 1,000 cases every run, so the coverage
      // check below is about the generator, not luck (one run in a few missed a rare end).
      { numRuns: 1000, seed: MONEY_SEED, examples: [[example1]] },
    );
    // The generator reached every end, with money taken (and given back where the rule says so).
    expect([...seen].sort(), `MONEY_SEED=${MONEY_SEED}`).toEqual(
      expect.arrayContaining([
        'CANCELLED charged',
        'CANCELLED after confirmation charged',
        'CANCELLED',
        'DISPATCH_FAILED:NO_DRIVERS_AVAILABLE charged',
        'DISPATCH_FAILED:NO_DRIVER_ACCEPTED charged',
        'DISPATCH_FAILED:NO_DRIVERS_AVAILABLE',
        'FINISHED above the threshold charged',
        'FINISHED at or below the threshold charged',
        'FINISHED at or below the threshold declined at finish',
        'REJECTED charged',
        'REJECTED',
      ]),
    );
    expect([...seen].some((end) => end.endsWith('late charge')), [...seen].join('\n')).toBe(true);
    expect(crashed).toBeGreaterThan(0);
    expect({ lateAtFinish: lateAtFinish > 0, crashedAtFinish: crashedAtFinish > 0 }).toEqual({ lateAtFinish: true, crashedAtFinish: true });
  }, 120_000);

  it('given a 2 km trip (fare 15, not charged at creation) driven to FINISHED, when it finishes, then its fare is charged at finish', async () => {
    const { tripState, payment, provider } = await play({ ...example1, distanceKm: 2, dispatch: 'FINISH' });
    expect(tripState).toMatchObject({ status: 'FINISHED', fare: 15 });
    expect(payment.map((event) => event.type)).toEqual(['PaymentCreated', 'PaymentPaid']);
    expect([provider.charges.has(atFinish), provider.netCents(tripId)]).toEqual([true, 1500]);
  });

  it('given issue 20 example 1 (42.7 km, charged, no driver online), when dispatch fails, then the charge is refunded', async () => {
    const { tripState, payment, provider } = await play(example1);
    expect(tripState).toMatchObject({ status: 'DISPATCH_FAILED', dispatchFailureReason: 'NO_DRIVERS_AVAILABLE', fare: 116.75 });
    expect(payment.map((event) => event.type)).toEqual(['PaymentCreated', 'PaymentPaid', 'PaymentRefunded']);
    expect(provider.netCents(tripId)).toBe(0);
  });
});
