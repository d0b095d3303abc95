import type { EventStore } from '@happyride/eventstore';
import { envNumber, type Logger } from '@happyride/platform';
import type { PaymentProvider } from '../payments/simulated-provider.ts';
import type { Clock } from '../runtime/clock.ts';
import type { SagaCommand } from '../runtime/commands.ts';
import type { MongoSagaStore } from '../runtime/mongo-saga-store.ts';
import { createOutputHandler } from '../runtime/output-handler.ts';
import { SagaRunner } from '../runtime/runner.ts';
import { createTripCreationSaga, defaultTripCreationConfig, type TripCreationConfig, type TripCreationInput, type TripCreationState } from './trip-creation-saga.ts';

/** `TRIP_MAX_DISTANCE_KM` (100), `PAYMENT_REQUIRED_ABOVE` (100), `PAYMENT_TIMEOUT_MS` (30000). */
export function readTripCreationConfig(env: Record<string, string | undefined>): TripCreationConfig {
  return {
    maxDistanceKm: envNumber(env, 'TRIP_MAX_DISTANCE_KM', defaultTripCreationConfig.maxDistanceKm, { min: 0 }),
    paymentRequiredAbove: envNumber(env, 'PAYMENT_REQUIRED_ABOVE', defaultTripCreationConfig.paymentRequiredAbove, { min: 0 }),
    paymentTimeoutMs: envNumber(env, 'PAYMENT_TIMEOUT_MS', defaultTripCreationConfig.paymentTimeoutMs, { min: 1, integer: true }),
  };
}

export interface TripCreationWorkerOptions {
  config: TripCreationConfig;
  events: EventStore;
  sagas: MongoSagaStore;
  provider: PaymentProvider;
  clock?: Clock;
  workerId?: string;
  pollIntervalMs?: number;
  chargeTimeoutMs?: number;
  logger?: Logger;
}

/** The trip creation saga wired to its runner and output handler. */
export function createTripCreationRunner({ config, events, sagas, provider, clock, workerId, pollIntervalMs, chargeTimeoutMs, logger }: TripCreationWorkerOptions) {
  const execute = createOutputHandler({
    store: events,
    provider,
    ...(clock ? { clock } : {}),
    ...(chargeTimeoutMs ? { chargeTimeoutMs } : {}),
    ...(logger ? { logger } : {}),
  });
  return new SagaRunner<TripCreationState, TripCreationInput, SagaCommand>({
    saga: createTripCreationSaga(config),
    store: sagas,
    execute,
    ...(clock ? { clock } : {}),
    ...(workerId ? { workerId } : {}),
    ...(pollIntervalMs ? { pollIntervalMs } : {}),
    ...(logger ? { logger } : {}),
  });
}
