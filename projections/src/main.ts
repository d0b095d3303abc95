import { announceLiveMember, connectNats, consumerDefinitions, EVENTS_STREAM, LEASES_BUCKET, partitionConsumer, partitionsOf, streamHasLeader, type Delivery } from '@happyride/eventstore';
import {
  connectMongo,
  createLogger,
  createMetricsRegistry,
  envNumber,
  envPort,
  firstReason,
  isTransientError,
  MongoDeadLetterStore,
  readMongoConfig,
  readNatsUrl,
  readProcessConfig,
  readGenerationPollMs,
  readMaxDeliveries,
  readinessCheck,
  readProjectionPartitions,
  registerDeadLetterMetrics,
  runMain,
  startMetricsServer,
} from '@happyride/platform';
import { registerConsumerMetrics } from './consumer-metrics.ts';
import { driversProjection } from './drivers/driver-view.ts';
import { passengersProjection } from './passengers/passenger-view.ts';
import { PartitionShare } from './partition-share.ts';
import { aggregateViewProjector, runProjector, type BatchProjector, type ProjectorHealth } from './projector.ts';
import { tripHistoryProjector } from './trips/trip-history-projector.ts';
import { publishTripNotices } from './trips/trip-notices.ts';
import { hostname } from 'node:os';
import { randomUUID } from 'node:crypto';

/** A batch failing in place for longer than this makes the projector unready: it needs a look. */
const STALLED_AFTER_MS = 60_000;

const logger = createLogger('projector');

runMain(logger, async () => {
  // NATS and MongoDB; no token is verified here.
  const config = { ...readProcessConfig(process.env), natsUrl: readNatsUrl(process.env), ...readMongoConfig(process.env) };
  const partitions = readProjectionPartitions(process.env);
  const nats = await connectNats(config.natsUrl, 'projector');
  const mongo = await connectMongo(config.mongoUrl, config.mongoDatabase, 'projector');
  const deadLetterStore = new MongoDeadLetterStore(mongo.db);
  await deadLetterStore.ensureIndexes();
  // Only poison is parked: timeouts and concurrent changes are retried with backoff (`classifyFailure`).
  const deadLetters = { store: deadLetterStore, maxDeliveries: readMaxDeliveries(process.env), isTransient: isTransientError };
  const stop = new AbortController();
  const signal = stop.signal;
  // Each projector (read model and partition) has its own durable consumer; the process is ready once all have started.
  let started = 0;
  const onStarted = () => void started++;
  // The consumer each projector reads now: it changes when a rebuild swaps its generation.
  const consumers = new Map<string, string>();
  // Each read model is split into `partitions` by aggregate id, one lease per (read model,
  // partition): the live projectors share them, at most ceil(partitions / live) each, and a
  // survivor takes a dead one's partitions once their leases expire (see README, partitions).
  const lease = {
    holder: `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`,
    ttlMs: envNumber(process.env, 'PROJECTOR_LEASE_TTL_MS', 10_000, { min: 300, max: 600_000, integer: true }),
  };
  const shares: PartitionShare[] = [];
  let liveProjectors = 0;
  const members = await announceLiveMember(nats.js, 'projector', {
    ...lease,
    signal,
    onChange: (count) => {
      if (count !== liveProjectors) logger.info({ liveProjectors: count, was: liveProjectors }, 'live projectors counted');
      liveProjectors = count;
      shares.forEach((share) => share.rebalance());
    },
    onError: (error) => logger.warn({ err: error }, 'live projectors not counted this time; keeping the last count'),
  });
  const healths = new Map<string, ProjectorHealth>();
  const project = (
    projector: BatchProjector,
    definition: (typeof consumerDefinitions)[keyof typeof consumerDefinitions],
    onApplied?: (batch: readonly Delivery[], generation: number) => Promise<void>,
  ) => {
    const share = new PartitionShare(partitions, members.count);
    shares.push(share);
    return partitionsOf(partitions).map((partition) => {
      const consumerName = partitionConsumer(definition.name, partition);
      const health: ProjectorHealth = { state: 'starting', failingSince: null, position: 0 };
      healths.set(consumerName, health);
      return runProjector(nats, mongo.db, projector, logger, {
        consumerName,
        definition,
        partition,
        share,
        signal,
        onStarted,
        generationPollMs: readGenerationPollMs(process.env),
        onGeneration: (_generation: number, consumer: string) => void consumers.set(consumerName, consumer),
        deadLetters,
        lease,
        health,
        ...(onApplied ? { onApplied } : {}),
      });
    });
  };
  const running = [
    ...project(aggregateViewProjector(passengersProjection), consumerDefinitions.passengersProjection),
    ...project(aggregateViewProjector(driversProjection), consumerDefinitions.driversProjection),
    ...project(tripHistoryProjector, consumerDefinitions.tripHistoryProjection, (batch, generation) => publishTripNotices(nats, mongo.db, batch, generation)),
  ];
  // A projector loop that ends without being asked (its consumer or stream is gone, a bug)
  // makes no progress and never will: say so and exit non-zero, for a supervisor to restart.
  let failed: string | null = null;
  for (const run of running) {
    run.then(
      () => {
        if (!signal.aborted) fail(new Error('a projector stopped by itself'));
      },
      (error: unknown) => fail(error),
    );
  }
  function fail(error: unknown) {
    failed = error instanceof Error ? error.message : String(error);
    logger.fatal({ err: error }, 'projector loop stopped; exiting');
    process.exitCode = 1;
    stop.abort();
    setTimeout(() => process.exit(1), 200).unref();
  }
  const metrics = createMetricsRegistry('projector');
  registerConsumerMetrics(metrics, nats, () => [...consumers.values()]);
  registerDeadLetterMetrics(metrics, deadLetterStore, () => [...consumers.values()]);
  const metricsServer = await startMetricsServer(metrics, envPort(process.env, 'PROJECTOR_METRICS_PORT', 9464), {
    host: config.host,
    readiness: async () => {
      if (failed) return `a projector loop stopped: ${failed}`;
      if (started < running.length) return `${started} of ${running.length} projectors started`;
      for (const [name, health] of healths) {
        if (health.failingSince !== null && Date.now() - health.failingSince > STALLED_AFTER_MS) {
          return `${name}: a batch has kept failing for ${Math.round((Date.now() - health.failingSince) / 1000)} s`;
        }
      }
      if (nats.connection.isClosed()) return 'NATS connection closed';
      // Without a leader of the event stream nothing is delivered; without one of the leases
      // bucket no lease is renewed or taken, so the read models go stale: not ready either way.
      return firstReason([
        readinessCheck('the event log (stream EVENTS)', () => streamHasLeader(nats.jsm, EVENTS_STREAM)),
        readinessCheck(`the leases bucket (${LEASES_BUCKET})`, () => streamHasLeader(nats.jsm, `KV_${LEASES_BUCKET}`)),
      ]);
    },
  });
  return [
    () => mongo.close(),
    () => new Promise<void>((resolve) => metricsServer.close(() => resolve())),
    () => nats.close(),
    async () => {
      stop.abort();
      await Promise.allSettled([...running, members.done]);
    },
  ];
});
