import { connectNats, consumerDefinitions } from '@happyride/eventstore';
import {
  connectMongo,
  createLogger,
  createMetricsRegistry,
  envPort,
  MongoDeadLetterStore,
  readCommonConfig,
  readGenerationPollMs,
  readMaxDeliveries,
  registerDeadLetterMetrics,
  runMain,
  startMetricsServer,
} from '@happyride/platform';
import { registerConsumerMetrics } from './consumer-metrics.ts';
import { driversProjection } from './drivers/driver-view.ts';
import { passengersProjection } from './passengers/passenger-view.ts';
import { runAggregateViewProjector, runProjector } from './projector.ts';
import { tripHistoryProjector } from './trips/trip-history-projector.ts';
import { publishTripNotices } from './trips/trip-notices.ts';

const logger = createLogger('projector');

runMain(logger, async () => {
  const config = readCommonConfig(process.env);
  const nats = await connectNats(config.natsUrl, 'projector');
  const mongo = await connectMongo(config.mongoUrl, config.mongoDatabase, 'projector');
  const deadLetterStore = new MongoDeadLetterStore(mongo.db);
  await deadLetterStore.ensureIndexes();
  const deadLetters = { store: deadLetterStore, maxDeliveries: readMaxDeliveries(process.env) };
  const stop = new AbortController();
  const signal = stop.signal;
  // Each projector has its own durable consumer; the process is ready once all have started.
  let started = 0;
  const onStarted = () => void started++;
  // The consumer each projector reads now: it changes when a rebuild swaps its generation.
  const consumers = new Map<string, string>();
  const common = (base: string) => ({
    consumerName: base,
    signal,
    onStarted,
    generationPollMs: readGenerationPollMs(process.env),
    onGeneration: (_generation: number, consumer: string) => void consumers.set(base, consumer),
    deadLetters,
  });
  const running = [
    runAggregateViewProjector(nats, mongo.db, passengersProjection, logger, common(consumerDefinitions.passengersProjection.name)),
    runAggregateViewProjector(nats, mongo.db, driversProjection, logger, common(consumerDefinitions.driversProjection.name)),
    runProjector(nats, mongo.db, tripHistoryProjector, logger, {
      ...common(consumerDefinitions.tripHistoryProjection.name),
      onApplied: (batch, generation) => publishTripNotices(nats, mongo.db, batch, generation),
    }),
  ];
  const metrics = createMetricsRegistry('projector');
  registerConsumerMetrics(metrics, nats, () => [...consumers.values()]);
  registerDeadLetterMetrics(metrics, deadLetterStore, () => [...consumers.values()]);
  const metricsServer = await startMetricsServer(metrics, envPort(process.env, 'PROJECTOR_METRICS_PORT', 9464), {
    host: config.host,
    readiness: async () => {
      if (started < running.length) return `${started} of ${running.length} projectors started`;
      return nats.connection.isClosed() ? 'NATS connection closed' : null;
    },
  });
  return [
    () => mongo.close(),
    () => new Promise<void>((resolve) => metricsServer.close(() => resolve())),
    () => nats.close(),
    async () => {
      stop.abort();
      await Promise.allSettled(running);
    },
  ];
});
