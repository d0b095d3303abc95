import { connectNats, consumerDefinitions, JetStreamEventStore } from '@happyride/eventstore';
import { connectMongo, createLogger, createMetricsRegistry, envNumber, envPort, readCommonConfig, runMain, startMetricsServer } from '@happyride/platform';
import { MongoChargeLedger, readSimulatedProviderConfig, SimulatedPaymentProvider } from './payments/simulated-provider.ts';
import { MongoSagaStore } from './runtime/mongo-saga-store.ts';
import { runSagas } from './runtime/run-sagas.ts';
import { createTripCancellationRunner, createTripCreationRunner, readTripCreationConfig } from './trip-creation/worker.ts';

const logger = createLogger('saga-worker');

runMain(logger, async () => {
  const env = process.env;
  const common = readCommonConfig(env);
  const config = readTripCreationConfig(env);
  const providerConfig = readSimulatedProviderConfig(env);
  const pollIntervalMs = envNumber(env, 'SAGA_POLL_INTERVAL_MS', 1_000, { min: 10, integer: true });
  const metricsPort = envPort(env, 'SAGA_WORKER_METRICS_PORT', 9465);
  const chargeTimeoutMs = envNumber(env, 'PAYMENT_PROVIDER_TIMEOUT_MS', 10_000, { min: 1, integer: true });
  const stepDelayMs = envNumber(env, 'SAGA_STEP_DELAY_MS', 0, { min: 0, integer: true });

  const nats = await connectNats(common.natsUrl, 'saga-worker');
  const mongo = await connectMongo(common.mongoUrl, common.mongoDatabase, 'saga-worker');
  const sagas = new MongoSagaStore(mongo.db);
  await sagas.ensureIndexes();
  // The simulated provider's charges live beside the sagas: a crash of this process forgets none.
  const provider = new SimulatedPaymentProvider({ ...providerConfig, ledger: new MongoChargeLedger(mongo.db) });
  const runner = createTripCreationRunner({
    config,
    events: new JetStreamEventStore(nats.js, nats.jsm),
    sagas,
    provider,
    pollIntervalMs,
    chargeTimeoutMs,
    stepDelayMs,
    logger,
  });

  // On TripCancelled, a paid payment of a confirmed trip is refunded: same events, same consumer.
  const refunds = createTripCancellationRunner({ events: new JetStreamEventStore(nats.js, nats.jsm), sagas, provider, pollIntervalMs, stepDelayMs, logger });

  const stop = new AbortController();
  const running = runSagas(nats, [runner, refunds], { consumerName: consumerDefinitions.tripCreationSaga.name, signal: stop.signal, pollIntervalMs, logger });
  running.catch((error: unknown) => logger.error({ err: error }, 'saga worker failed'));
  const metrics = await startMetricsServer(createMetricsRegistry('saga-worker'), metricsPort, { host: common.host });
  logger.info({ workerId: runner.workerId, metricsPort, ...config }, 'saga worker started');
  return [
    () => new Promise<void>((resolve) => metrics.close(() => resolve())),
    () => mongo.close(),
    () => nats.close(),
    async () => {
      stop.abort();
      await running.catch(() => {});
    },
  ];
});
