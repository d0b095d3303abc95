import { connectNats, JetStreamEventStore, KvDriverLocationStore } from '@happyride/eventstore';
import { createLogger, envPort, readCommonConfig, runMain, tokenVerifier } from '@happyride/platform';
import { startDriverCommands, SUBGRAPH_NAME } from './server.ts';

const logger = createLogger(SUBGRAPH_NAME);

runMain(logger, async () => {
  const config = readCommonConfig(process.env);
  const port = envPort(process.env, 'DRIVER_COMMANDS_PORT', 4003);
  const nats = await connectNats(config.natsUrl, SUBGRAPH_NAME);
  const service = await startDriverCommands({
    port,
    host: config.host,
    store: new JetStreamEventStore(nats.js, nats.jsm),
    locations: await KvDriverLocationStore.open(nats.js),
    verify: tokenVerifier(config.auth),
    logger,
    exposeInternalErrors: config.environment === 'development',
    readiness: async () => (nats.connection.isClosed() ? 'NATS connection closed' : null),
  });
  return [() => nats.close(), () => service.stop()];
});
