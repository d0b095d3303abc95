import { defaultPricing } from '@happyride/domain';
import { connectNats, JetStreamEventStore } from '@happyride/eventstore';
import { createLogger, envNumber, envPort, readCommonConfig, runMain, tokenVerifier } from '@happyride/platform';
import { startTripCommands, SUBGRAPH_NAME } from './server.ts';

const logger = createLogger(SUBGRAPH_NAME);

runMain(logger, async () => {
  const config = readCommonConfig(process.env);
  const port = envPort(process.env, 'TRIP_COMMANDS_PORT', 4004);
  const pricing = {
    baseFare: envNumber(process.env, 'FARE_BASE', defaultPricing.baseFare, { min: 0 }),
    perKm: envNumber(process.env, 'FARE_PER_KM', defaultPricing.perKm, { min: 0 }),
  };
  const nats = await connectNats(config.natsUrl, SUBGRAPH_NAME);
  const service = await startTripCommands({
    port,
    host: config.host,
    store: new JetStreamEventStore(nats.js, nats.jsm),
    pricing,
    verify: tokenVerifier(config.auth),
    logger,
    exposeInternalErrors: config.environment === 'development',
    readiness: async () => (nats.connection.isClosed() ? 'NATS connection closed' : null),
  });
  return [() => nats.close(), () => service.stop()];
});
