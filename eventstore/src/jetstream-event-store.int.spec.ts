import { afterAll, beforeAll, inject } from 'vitest';
import { bootstrapEventLog } from './bootstrap.ts';
import { eventStoreContract } from './event-store.contract.ts';
import { JetStreamEventStore } from './jetstream-event-store.ts';
import { connectNats, type Nats } from './nats.ts';

let nats: Nats;
beforeAll(async () => {
  nats = await connectNats(inject('natsUrl'), 'eventstore-contract');
  await bootstrapEventLog(nats.jsm, []);
});
afterAll(() => nats.close());

// Each call is a separate adapter instance (its own head cache), as separate processes are.
eventStoreContract('JetStream', () => new JetStreamEventStore(nats.js, nats.jsm));
