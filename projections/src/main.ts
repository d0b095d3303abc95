import { connectNats, consumerDefinitions } from '@happyride/eventstore';
import { connectMongo, createLogger, readCommonConfig, runMain } from '@happyride/platform';
import { passengersProjection } from './passengers/passenger-view.ts';
import { runAggregateViewProjector } from './projector.ts';

const logger = createLogger('projector');

runMain(logger, async () => {
  const config = readCommonConfig(process.env);
  const nats = await connectNats(config.natsUrl, 'projector');
  const mongo = await connectMongo(config.mongoUrl, config.mongoDatabase, 'projector');
  const stop = new AbortController();
  const running = [
    runAggregateViewProjector(nats, mongo.db, passengersProjection, logger, {
      consumerName: consumerDefinitions.passengersProjection.name,
      signal: stop.signal,
    }),
  ];
  return [
    () => mongo.close(),
    () => nats.close(),
    async () => {
      stop.abort();
      await Promise.allSettled(running);
    },
  ];
});
