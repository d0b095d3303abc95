import { Gauge, type Registry } from '@happyride/platform';
import type { MongoSagaStore } from './mongo-saga-store.ts';

/**
 * Saga instances as Prometheus gauges, counted in the saga store when scraped:
 * `saga_instances{saga, state}` with state `running` or `ended`, and
 * `saga_instances_pending{saga}`: running instances whose outbox (commands, deadline changes)
 * is not carried out yet; one that stays up means a command keeps failing.
 */
export function registerSagaMetrics(registry: Registry, store: MongoSagaStore, sagas: readonly string[]): void {
  new Gauge({
    name: 'saga_instances',
    help: 'Saga instances by saga and state (running, ended).',
    labelNames: ['saga', 'state'],
    registers: [registry],
    async collect() {
      for (const saga of sagas) {
        const [running, ended] = await Promise.all([
          store.instances.countDocuments({ saga, ended: false }),
          store.instances.countDocuments({ saga, ended: true }),
        ]).catch(() => [null, null]);
        if (running !== null) this.set({ saga, state: 'running' }, running);
        if (ended !== null) this.set({ saga, state: 'ended' }, ended);
      }
    },
  });
  new Gauge({
    name: 'saga_instances_pending',
    help: 'Saga instances whose outbox (commands, deadline changes) is not carried out yet.',
    labelNames: ['saga'],
    registers: [registry],
    async collect() {
      for (const saga of sagas) {
        const pending = await store.instances.countDocuments({ pendingOf: saga }).catch(() => null); // index-backed (see MongoSagaStore)
        if (pending !== null) this.set({ saga }, pending);
      }
    },
  });
}
