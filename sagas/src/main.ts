import { connectNats, consumerDefinitions, JetStreamEventStore } from '@happyride/eventstore';
import { connectMongo, createLogger, createMetricsRegistry, envNumber, envPort, readCommonConfig, runMain, startMetricsServer } from '@happyride/platform';
import { readSimulatedProviderConfig, SimulatedPaymentProvider } from './payments/simulated-provider.ts';
import { MongoSagaStore } from './runtime/mongo-saga-store.ts';
import { readDispatchConfig, startDispatchWorker } from './dispatch/worker.ts';
import { createTripCreationRunner, readTripCreationConfig } from './trip-creation/worker.ts';

const logger = createLogger('saga-worker');

runMain(logger, async () => {
  const env = process.env;
  const common = readCommonConfig(env);
  const config = readTripCreationConfig(env);
  const dispatchConfig = readDispatchConfig(env);
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

  const stop = new AbortController();
  const running = runner.run(nats, { consumerName: consumerDefinitions.tripCreationSaga.name, signal: stop.signal });
  running.catch((error: unknown) => logger.error({ err: error }, 'saga worker failed'));
  const events = new JetStreamEventStore(nats.js, nats.jsm);
  const dispatch = await startDispatchWorker({ nats, db: mongo.db, events, sagas, config: dispatchConfig, pollIntervalMs, logger, signal: stop.signal });
  dispatch.running.catch((error: unknown) => logger.error({ err: error }, 'dispatch failed'));
  const metrics = await startMetricsServer(createMetricsRegistry('saga-worker'), metricsPort, { host: common.host });
  logger.info({ workerId: runner.workerId, metricsPort, ...config, dispatch: dispatchConfig }, 'saga worker started');
  return [
    () => new Promise<void>((resolve) => metrics.close(() => resolve())),
    () => mongo.close(),
    () => nats.close(),
    async () => {
      stop.abort();
      await running.catch(() => {});
      await dispatch.running.catch(() => {});
    },
  ];
});
