import { bootstrapEventLog, ensureConsumer, JetStreamEventStore, connectNats, type Delivery, type Nats } from '@happyride/eventstore';
import { connectMongo, createLogger, type Mongo } from '@happyride/platform';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { applyToAggregateViews } from '../aggregate-view.ts';
import { runAggregateViewProjector } from '../projector.ts';
import { passengersProjection, type PassengerView } from './passenger-view.ts';

let nats: Nats;
let mongo: Mongo;
let store: JetStreamEventStore;
const logger = createLogger('test', 'silent');
const now = '2026-11-23T10:00:00.000Z';

beforeAll(async () => {
  nats = await connectNats(inject('natsUrl'), 'passengers-projector-test');
  mongo = await connectMongo(inject('mongoUrl'), `test_passengers_${randomUUID().slice(0, 8)}`, 'test');
  await bootstrapEventLog(nats.jsm, []);
  store = new JetStreamEventStore(nats.js, nats.jsm);
});
afterAll(async () => {
  await mongo.db.dropDatabase().catch(() => {});
  await mongo.close();
  await nats.close();
});

const newId = () => `p-${randomUUID().slice(0, 8)}`;
const meta = () => ({ commandId: randomUUID(), correlationId: 'corr', now });
const views = () => mongo.db.collection<PassengerView>('passengers');

async function register(id: string, name: string) {
  await store.append('passenger', id, [{ type: 'PassengerRegistered', data: { passengerId: id, name } }], 0, meta());
}
async function rename(id: string, name: string, version: number) {
  await store.append('passenger', id, [{ type: 'PassengerDetailsUpdated', data: { passengerId: id, name } }], version, meta());
}

/** A fresh durable consumer on the passenger events, as the bootstrap step would create. */
async function freshConsumer(): Promise<string> {
  const name = `test-passengers-${randomUUID().slice(0, 8)}`;
  await ensureConsumer(nats.jsm, { name, description: 'test', aggregateTypes: ['passenger'] });
  return name;
}

async function until<T>(probe: () => Promise<T>, ok: (value: T) => boolean, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (ok(value)) return value;
    if (Date.now() > deadline) throw new Error(`not so within ${timeoutMs} ms; last seen: ${JSON.stringify(value)?.slice(0, 500)}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

describe('passengers projector on JetStream and the MongoDB-wire server', () => {
  it('given a registration and a rename, when the projector runs, then the view shows the new name at version 2', async () => {
    const id = newId();
    await register(id, 'Ada');
    await rename(id, 'Ada L.', 1);
    const stop = new AbortController();
    const running = runAggregateViewProjector(nats, mongo.db, passengersProjection, logger, { consumerName: await freshConsumer(), signal: stop.signal });

    const view = await until(() => views().findOne({ _id: id }), (doc) => doc?.version === 2);
    stop.abort();
    await running;
    expect(view).toMatchObject({ _id: id, name: 'Ada L.', banned: false, version: 2 });
  });

  it('given a batch already applied, when it is delivered again (redelivery), then nothing changes', async () => {
    const id = newId();
    await register(id, 'Grace');
    await rename(id, 'Grace H.', 1);
    const history = await store.read('passenger', id);
    const batch: Delivery[] = history.events.map((event, i) => ({
      commit: { commandId: event.commandId, aggregateType: 'passenger', aggregateId: id, version: event.version, events: [event] },
      streamSequence: i + 1,
      deliveryCount: 1,
    }));

    expect(await applyToAggregateViews(mongo.db, passengersProjection, batch)).toBe(2);
    const first = await views().findOne({ _id: id });
    expect(await applyToAggregateViews(mongo.db, passengersProjection, [...batch, ...batch])).toBe(0);
    expect(await views().findOne({ _id: id })).toEqual(first);
  });

  it('given an event whose predecessor was not applied, when it arrives alone, then it is refused for a retry and nothing is half-applied', async () => {
    const id = newId();
    await register(id, 'Linus');
    await rename(id, 'Linus T.', 1);
    const [, second] = (await store.read('passenger', id)).events;
    const lone: Delivery = { commit: { commandId: 'c', aggregateType: 'passenger', aggregateId: id, version: 2, events: [second!] }, streamSequence: 2, deliveryCount: 1 };

    await expect(applyToAggregateViews(mongo.db, passengersProjection, [lone])).rejects.toThrow(/arrived before 1/);
    expect(await views().findOne({ _id: id })).toBeNull();
  });

  it('given a projector stopped part-way, when events arrive while it is down and it restarts, then every event is applied exactly once', async () => {
    const id = newId();
    const consumerName = await freshConsumer();
    await register(id, 'Name 0');

    const first = new AbortController();
    const run1 = runAggregateViewProjector(nats, mongo.db, passengersProjection, logger, { consumerName, signal: first.signal });
    await until(() => views().findOne({ _id: id }), (doc) => doc?.version === 1);
    first.abort();
    await run1;

    for (let v = 1; v <= 5; v++) await rename(id, `Name ${v}`, v);

    const second = new AbortController();
    const run2 = runAggregateViewProjector(nats, mongo.db, passengersProjection, logger, { consumerName, signal: second.signal });
    const view = await until(() => views().findOne({ _id: id }), (doc) => doc?.version === 6);
    second.abort();
    await run2;
    expect(view).toMatchObject({ name: 'Name 5', version: 6 });
    const info = await nats.jsm.consumers.info('EVENTS', consumerName);
    expect(info.num_ack_pending).toBe(0);
  });
});
