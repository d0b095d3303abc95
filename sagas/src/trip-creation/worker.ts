import type { EventStore } from '@happyride/eventstore';
import { envNumber, type Logger } from '@happyride/platform';
import type { PaymentProvider } from '../payments/provider.ts';
import type { Clock } from '../runtime/clock.ts';
import type { SagaCommand } from '../runtime/commands.ts';
import type { MongoSagaStore } from '../runtime/mongo-saga-store.ts';
import { createOutputHandler } from '../runtime/output-handler.ts';
import { SagaRunner, type CommandExecutor } from '../runtime/runner.ts';
import type { SagaInputBase } from '../runtime/saga.ts';
import { createSettleTripEndSaga, type SettleTripEndInput, type SettleTripEndState } from '../trip-end/settle-trip-end-saga.ts';
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
  /** See `SagaRunnerOptions.outboxLeaseMs`. */
  outboxLeaseMs?: number;
  chargeTimeoutMs?: number;
  /** The currency of every charge (`eur`). */
  currency?: string;
  /**
   * Waits this long before carrying out each command, once it is persisted in the outbox: slow
   * motion for the crash tests, which kill the process in that window after every step (0: off).
   */
  stepDelayMs?: number;
  logger?: Logger;
}

/** Waits `stepDelayMs` before each command (see `stepDelayMs`); 0 leaves `execute` as it is. */
function inSlowMotion<I extends SagaInputBase>(execute: CommandExecutor<I, SagaCommand>, stepDelayMs: number): CommandExecutor<I, SagaCommand> {
  if (stepDelayMs <= 0) return execute;
  return async (command, context) => {
    await new Promise((resolve) => setTimeout(resolve, stepDelayMs));
    return execute(command, context);
  };
}

/** The sagas' output handler, slowed by `stepDelayMs`: the I/O every saga of this worker shares. */
function executorOf({ events, provider, clock, chargeTimeoutMs, currency, stepDelayMs = 0, logger }: Omit<TripCreationWorkerOptions, 'config'>) {
  const handler = createOutputHandler({
    store: events,
    provider,
    ...(clock ? { clock } : {}),
    ...(chargeTimeoutMs ? { chargeTimeoutMs } : {}),
    ...(currency ? { currency } : {}),
    ...(logger ? { logger } : {}),
  });
  return inSlowMotion(handler, stepDelayMs);
}

/** The trip creation saga wired to its runner and output handler. */
export function createTripCreationRunner(options: TripCreationWorkerOptions) {
  const { config, sagas, clock, workerId, pollIntervalMs, outboxLeaseMs, logger } = options;
  return new SagaRunner<TripCreationState, TripCreationInput, SagaCommand>({
    saga: createTripCreationSaga(config),
    store: sagas,
    execute: executorOf(options),
    clock,
    workerId,
    pollIntervalMs,
    outboxLeaseMs,
    logger,
  });
}

/** The saga that settles a confirmed trip's end (charges a finished trip's fare, refunds an unfinished one), wired alike. */
export function createSettleTripEndRunner(options: Omit<TripCreationWorkerOptions, 'config'>) {
  // It sends only ChargeFinishedTrip and RefundPaidPayment, answered by a recorded event or a CommandRejected.
  const { sagas, clock, workerId, pollIntervalMs, outboxLeaseMs, logger } = options;
  return new SagaRunner<SettleTripEndState, SettleTripEndInput, SagaCommand>({
    saga: createSettleTripEndSaga(),
    store: sagas,
    execute: executorOf(options) as CommandExecutor<SettleTripEndInput, SagaCommand>,
    clock,
    workerId,
    pollIntervalMs,
    outboxLeaseMs,
    logger,
  });
}
