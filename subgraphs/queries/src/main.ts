import { connectMongo, createLogger, envPort, readCommonConfig, runMain, tokenVerifier } from '@happyride/platform';
import { startQueries, SUBGRAPH_NAME } from './server.ts';

const logger = createLogger(SUBGRAPH_NAME);

runMain(logger, async () => {
  const config = readCommonConfig(process.env);
  const port = envPort(process.env, 'QUERIES_PORT', 4002);
  const mongo = await connectMongo(config.mongoUrl, config.mongoDatabase, SUBGRAPH_NAME);
  const service = await startQueries({
    port,
    host: config.host,
    db: mongo.db,
    verify: tokenVerifier(config.auth),
    logger,
    exposeInternalErrors: config.environment === 'development',
    readiness: async () => {
      await mongo.db.command({ ping: 1 });
      return null;
    },
  });
  return [() => mongo.close(), () => service.stop()];
});
