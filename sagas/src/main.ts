import { connectNats, consumerDefinitions, JetStreamEventStore } from '@happyride/eventstore';
import { connectMongo, createLogger, createMetricsRegistry, envNumber, envPort, MongoDeadLetterStore, readCommonConfig, readMaxDeliveries, registerDeadLetterMetrics, runMain, startMetricsServer } from '@happyride/platform';
import { readSimulatedProviderConfig, SimulatedPaymentProvider } from './payments/simulated-provider.ts';
import { MongoSagaStore } from './runtime/mongo-saga-store.ts';
import { registerSagaMetrics } from './runtime/saga-metrics.ts';
import { TRIP_CREATION_SAGA } from './trip-creation/trip-creation-saga.ts';
import { createTripCreationRunner, readTripCreationConfig } from './trip-creation/worker.ts';

const logger = createLogger('saga-worker');

runMain(logger, async () => {
  const env = process.env;
  const common = readCommonConfig(env);
  const config = readTripCreationConfig(env);
  const provider = new SimulatedPaymentProvider(readSimulatedProviderConfig(env));
  const pollIntervalMs = envNumber(env, 'SAGA_POLL_INTERVAL_MS', 1_000, { min: 10, integer: true });
  const metricsPort = envPort(env, 'SAGA_WORKER_METRICS_PORT', 9465);

  const nats = await connectNats(common.natsUrl, 'saga-worker');
  const mongo = await connectMongo(common.mongoUrl, common.mongoDatabase, 'saga-worker');
  const sagas = new MongoSagaStore(mongo.db);
  await sagas.ensureIndexes();
  const runner = createTripCreationRunner({
    config,
    events: new JetStreamEventStore(nats.js, nats.jsm),
    sagas,
    provider,
    pollIntervalMs,
    logger,
  });

  const deadLetterStore = new MongoDeadLetterStore(mongo.db);
  await deadLetterStore.ensureIndexes();
  const consumerName = consumerDefinitions.tripCreationSaga.name;
  const deadLetters = { store: deadLetterStore, maxDeliveries: readMaxDeliveries(env) };

  const stop = new AbortController();
  const running = runner.run(nats, { consumerName, signal: stop.signal, deadLetters });
  running.catch((error: unknown) => logger.error({ err: error }, 'saga worker failed'));
  const registry = createMetricsRegistry('saga-worker');
  registerDeadLetterMetrics(registry, deadLetterStore, [consumerName]);
  registerSagaMetrics(registry, sagas, [TRIP_CREATION_SAGA]);
  const metrics = await startMetricsServer(registry, metricsPort, { host: common.host });
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
