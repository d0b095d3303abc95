import type { AvailableDriversIndex } from '@happyride/domain';
import { consumerDefinitions, KvDriverLocationStore, type DeadLetterPolicy, type EventStore, type Nats } from '@happyride/eventstore';
import type { Db } from 'mongodb';
import { envNumber, type Logger } from '@happyride/platform';
import type { Clock } from '../runtime/clock.ts';
import type { MongoSagaStore } from '../runtime/mongo-saga-store.ts';
import { SagaRunner } from '../runtime/runner.ts';
import type { DispatchCommand } from './dispatch-commands.ts';
import { createDispatchExecutor } from './dispatch-executor.ts';
import { startAvailableDrivers } from './available-drivers-feed.ts';
import { DispatchOffers } from './dispatch-offers.ts';
import { createDispatchSaga, defaultDispatchConfig, type DispatchConfig, type DispatchInput, type DispatchState } from './dispatch-saga.ts';

/** `DISPATCH_RADIUS_KM` (10), `DISPATCH_CHECK_INTERVAL_MS` (10000), `DISPATCH_MAX_CHECKS` (3). */
export function readDispatchConfig(env: Record<string, string | undefined>): DispatchConfig {
  return {
    radiusKm: envNumber(env, 'DISPATCH_RADIUS_KM', defaultDispatchConfig.radiusKm, { min: 0.001, max: 1_000 }),
    checkIntervalMs: envNumber(env, 'DISPATCH_CHECK_INTERVAL_MS', defaultDispatchConfig.checkIntervalMs, { min: 1, max: 3_600_000, integer: true }),
    maxChecks: envNumber(env, 'DISPATCH_MAX_CHECKS', defaultDispatchConfig.maxChecks, { min: 1, max: 100, integer: true }),
  };
}

export interface DispatchWorkerOptions {
  config: DispatchConfig;
  events: EventStore;
  sagas: MongoSagaStore;
  index: AvailableDriversIndex;
  offers: DispatchOffers;
  clock?: Clock;
  workerId?: string;
  pollIntervalMs?: number;
  idlePollIntervalMs?: number;
  /** See `SagaRunnerOptions.outboxLeaseMs`. */
  outboxLeaseMs?: number;
  logger?: Logger;
}

/** The dispatch saga wired to its runner and executor. */
export function createDispatchRunner({ config, events, sagas, index, offers, clock, workerId, pollIntervalMs, idlePollIntervalMs, outboxLeaseMs, logger }: DispatchWorkerOptions) {
  const execute = createDispatchExecutor({ events, index, offers, radiusKm: config.radiusKm, ...(clock ? { clock } : {}), ...(logger ? { logger } : {}) });
  return new SagaRunner<DispatchState, DispatchInput, DispatchCommand>({
    saga: createDispatchSaga(config),
    store: sagas,
    execute,
    clock,
    workerId,
    pollIntervalMs,
    idlePollIntervalMs,
    outboxLeaseMs,
    logger,
  });
}

/**
 * Dispatch inside a worker process: builds the index of available drivers, then runs the saga
 * on its durable consumer until `signal` aborts. Resolves once it runs; `running` ends with it.
 */
export async function startDispatchWorker({ nats, db, events, sagas, config, pollIntervalMs, idlePollIntervalMs, outboxLeaseMs, logger, signal, deadLetters }: {
  nats: Nats;
  db: Db;
  events: EventStore;
  sagas: MongoSagaStore;
  config: DispatchConfig;
  pollIntervalMs?: number;
  idlePollIntervalMs?: number;
  outboxLeaseMs?: number;
  logger?: Logger;
  signal: AbortSignal;
  /** Park trip events the dispatch saga cannot handle after N deliveries. */
  deadLetters?: DeadLetterPolicy;
}) {
  const offers = new DispatchOffers(db, nats);
  await offers.ensureIndexes();
  const drivers = await startAvailableDrivers(nats, await KvDriverLocationStore.open(nats.js), { signal, ...(logger ? { logger } : {}) });
  const runner = createDispatchRunner({ config, events, sagas, index: drivers.index, offers, ...(pollIntervalMs ? { pollIntervalMs } : {}), ...(idlePollIntervalMs ? { idlePollIntervalMs } : {}), ...(outboxLeaseMs ? { outboxLeaseMs } : {}), ...(logger ? { logger } : {}) });
  const running = Promise.all([runner.run(nats, { consumerName: consumerDefinitions.dispatchSaga.name, signal, ...(deadLetters ? { deadLetters } : {}) }), drivers.done]).then(() => {});
  return { runner, index: drivers.index, running };
}
