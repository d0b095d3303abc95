import { connectNats, consumerDefinitions, JetStreamEventStore } from '@happyride/eventstore';
import { connectMongo, createLogger, envNumber, readCommonConfig, runMain } from '@happyride/platform';
import { readSimulatedProviderConfig, SimulatedPaymentProvider } from './payments/simulated-provider.ts';
import { MongoSagaStore } from './runtime/mongo-saga-store.ts';
import { createTripCreationRunner, readTripCreationConfig } from './trip-creation/worker.ts';

const logger = createLogger('saga-worker');

runMain(logger, async () => {
  const env = process.env;
  const common = readCommonConfig(env);
  const config = readTripCreationConfig(env);
  const provider = new SimulatedPaymentProvider(readSimulatedProviderConfig(env));
  const pollIntervalMs = envNumber(env, 'SAGA_POLL_INTERVAL_MS', 1_000, { min: 10, integer: true });

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
  logger.info({ workerId: runner.workerId, ...config }, 'saga worker started');
  return [
    () => mongo.close(),
    () => nats.close(),
    async () => {
      stop.abort();
      await running.catch(() => {});
    },
  ];
});
