import { expect } from 'vitest';
import { eventStoreContract } from './event-store.contract.ts';
import { InMemoryEventStore } from './in-memory.ts';

// One store shared by every "writer" of a case, as one JetStream server is.
let shared = new InMemoryEventStore();
let lastCase = '';
eventStoreContract('in memory', () => {
  const current = expect.getState().currentTestName ?? '';
  if (current !== lastCase) {
    lastCase = current;
    shared = new InMemoryEventStore();
  }
  return shared;
});
