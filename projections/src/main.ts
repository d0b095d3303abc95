import { connectNats, consumerDefinitions } from '@happyride/eventstore';
import { connectMongo, createLogger, createMetricsRegistry, envPort, MongoDeadLetterStore, readCommonConfig, readMaxDeliveries, registerDeadLetterMetrics, runMain, startMetricsServer } from '@happyride/platform';
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
  const running = [
    runAggregateViewProjector(nats, mongo.db, passengersProjection, logger, { consumerName: consumerDefinitions.passengersProjection.name, signal, onStarted, deadLetters }),
    runAggregateViewProjector(nats, mongo.db, driversProjection, logger, { consumerName: consumerDefinitions.driversProjection.name, signal, onStarted, deadLetters }),
    runProjector(nats, mongo.db, tripHistoryProjector, logger, {
      consumerName: consumerDefinitions.tripHistoryProjection.name,
      signal,
      onStarted,
      deadLetters,
      onApplied: (batch) => publishTripNotices(nats, mongo.db, batch),
    }),
  ];
  const metrics = createMetricsRegistry('projector');
  const consumerNames = [consumerDefinitions.passengersProjection, consumerDefinitions.driversProjection, consumerDefinitions.tripHistoryProjection].map((c) => c.name);
  registerConsumerMetrics(metrics, nats, consumerNames);
  registerDeadLetterMetrics(metrics, deadLetterStore, consumerNames);
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
