import { connectNats, consumerDefinitions, EVENTS_STREAM, JetStreamEventStore, streamHasLeader } from '@happyride/eventstore';
import { ConfigError, connectMongo, createLogger, createMetricsRegistry, envNumber, envPort, firstReason, isTransientError, MongoDeadLetterStore, readinessCheck, readMongoConfig, readNatsUrl, readProcessConfig, readMaxDeliveries, registerDeadLetterMetrics, runMain, startMetricsServer, superviseLoops } from '@happyride/platform';
import { createPaymentProvider, readPaymentProviderConfig } from './payments/config.ts';
import { PaymentReconciler } from './payments/reconciliation.ts';
import { pruneSagaHistory } from './runtime/history-pruner.ts';
import { runSagas } from './runtime/run-sagas.ts';
import { MongoSagaStore } from './runtime/mongo-saga-store.ts';
import { registerSagaMetrics } from './runtime/saga-metrics.ts';
import { SETTLE_TRIP_END_SAGA } from './trip-end/settle-trip-end-saga.ts';
import { DISPATCH_SAGA } from './dispatch/dispatch-saga.ts';
import { readDispatchConfig, startDispatchWorker } from './dispatch/worker.ts';
import { TRIP_CREATION_SAGA } from './trip-creation/trip-creation-saga.ts';
import { createSettleTripEndRunner, createTripCreationRunner, readTripCreationConfig } from './trip-creation/worker.ts';

const logger = createLogger('saga-worker');

runMain(logger, async () => {
  const env = process.env;
  // NATS and MongoDB; no token is verified here.
  const common = { ...readProcessConfig(env), natsUrl: readNatsUrl(env), ...readMongoConfig(env) };
  const config = readTripCreationConfig(env);
  const providerConfig = readPaymentProviderConfig(env);
  const dispatchConfig = readDispatchConfig(env);
  const pollIntervalMs = envNumber(env, 'SAGA_POLL_INTERVAL_MS', 1_000, { min: 10, integer: true });
  const idlePollIntervalMs = envNumber(env, 'SAGA_IDLE_POLL_INTERVAL_MS', 30_000, { min: 10, integer: true });
  const metricsPort = envPort(env, 'SAGA_WORKER_METRICS_PORT', 9465);
  // An ended saga's instance, transitions and deadlines are kept this long, then pruned.
  const historyRetentionMs = envNumber(env, 'SAGA_HISTORY_RETENTION_MS', 7 * 24 * 60 * 60_000, { min: 60_000, integer: true });
  const chargeTimeoutMs = envNumber(env, 'PAYMENT_PROVIDER_TIMEOUT_MS', 10_000, { min: 1, integer: true });
  const stepDelayMs = envNumber(env, 'SAGA_STEP_DELAY_MS', 0, { min: 0, integer: true });
  // Another worker takes an outbox over once it was not written for this long: longer than one command may take.
  const outboxLeaseMs = envNumber(env, 'SAGA_OUTBOX_LEASE_MS', 30_000, { min: 100, integer: true });
  if (outboxLeaseMs <= chargeTimeoutMs + stepDelayMs) {
    throw new ConfigError(`SAGA_OUTBOX_LEASE_MS (${outboxLeaseMs}) must exceed PAYMENT_PROVIDER_TIMEOUT_MS + SAGA_STEP_DELAY_MS (${chargeTimeoutMs + stepDelayMs}): a charge in progress would be sent again by another worker.`);
  }

  const nats = await connectNats(common.natsUrl, 'saga-worker');
  const mongo = await connectMongo(common.mongoUrl, common.mongoDatabase, 'saga-worker');
  const sagas = new MongoSagaStore(mongo.db);
  await sagas.ensureIndexes();
  // The simulated provider's ledger lives beside the sagas: a crash of this process forgets nothing.
  const provider = await createPaymentProvider(providerConfig, mongo.db, { timeoutMs: chargeTimeoutMs });
  // What both the trip creation saga's runner and the settle-trip-end saga's are made of.
  const runnerOptions = {
    events: new JetStreamEventStore(nats.js, nats.jsm),
    sagas,
    provider,
    pollIntervalMs,
    outboxLeaseMs,
    chargeTimeoutMs,
    currency: providerConfig.currency,
    stepDelayMs,
    logger,
  };
  const runner = createTripCreationRunner({ config, ...runnerOptions });

  const deadLetterStore = new MongoDeadLetterStore(mongo.db);
  await deadLetterStore.ensureIndexes();
  const consumerName = consumerDefinitions.tripCreationSaga.name;
  // Only poison is parked: timeouts and concurrent changes are retried with backoff (`classifyFailure`).
  const deadLetters = { store: deadLetterStore, maxDeliveries: readMaxDeliveries(env), isTransient: isTransientError };

  // A confirmed trip's end settles its payment: TripFinished charges a fare not charged yet,
  // TripCancelled or TripDispatchFailed refunds a paid one. Same events, same consumer.
  const settlements = createSettleTripEndRunner(runnerOptions);

  const stop = new AbortController();
  // A loop that stops makes the process unready and exit 1 (to be restarted), never silent.
  const loops = superviseLoops({ logger, stopping: stop.signal });
  const running = runSagas(nats, [runner, settlements], { consumerName, signal: stop.signal, pollIntervalMs, idlePollIntervalMs, logger, deadLetters });
  loops.watch('the saga consumer loop', running);
  const events = new JetStreamEventStore(nats.js, nats.jsm);
  const dispatch = await startDispatchWorker({
    nats,
    db: mongo.db,
    events,
    sagas,
    config: dispatchConfig,
    pollIntervalMs,
    idlePollIntervalMs,
    outboxLeaseMs,
    logger,
    signal: stop.signal,
    deadLetters,
  });
  loops.watch('dispatch (its consumer loop or driver feed)', dispatch.running);
  // Charges the log does not hold (their answer came after the payment was cancelled) are refunded.
  const reconciler = new PaymentReconciler({ db: mongo.db, store: events, provider, logger });
  const reconciling = reconciler.run({ intervalMs: providerConfig.reconcileIntervalMs, signal: stop.signal });
  const pruning = pruneSagaHistory(sagas, { retentionMs: historyRetentionMs, intervalMs: Math.min(10 * 60_000, historyRetentionMs), signal: stop.signal, logger });
  loops.watch('the saga history pruner', pruning);
  const registry = createMetricsRegistry('saga-worker');
  registerDeadLetterMetrics(registry, deadLetterStore, [consumerName, consumerDefinitions.dispatchSaga.name]);
  registerSagaMetrics(registry, sagas, [TRIP_CREATION_SAGA, SETTLE_TRIP_END_SAGA, DISPATCH_SAGA]);
  const metrics = await startMetricsServer(registry, metricsPort, {
    host: common.host,
    readiness: async () =>
      loops.failure() ??
      firstReason([readinessCheck('the event log (stream EVENTS)', () => streamHasLeader(nats.jsm, EVENTS_STREAM)), readinessCheck('MongoDB', () => mongo.db.command({ ping: 1 }))]),
  });
  const payments = { provider: providerConfig.kind, currency: providerConfig.currency, reconcileIntervalMs: providerConfig.reconcileIntervalMs };
  logger.info({ workerId: runner.workerId, metricsPort, ...config, dispatch: dispatchConfig, payments }, 'saga worker started');
  return [
    () => new Promise<void>((resolve) => metrics.close(() => resolve())),
    () => mongo.close(),
    () => nats.close(),
    async () => {
      stop.abort();
      await running.catch(() => {});
      await dispatch.running.catch(() => {});
      await reconciling;
      await pruning;
    },
  ];
});
