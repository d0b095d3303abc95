import { connectNats } from '@happyride/eventstore';
import { createLogger, envNumber, envPort, envString, readNatsUrl, readProcessConfig, readVerifierAuth, runMain, tokenVerifier } from '@happyride/platform';
import { readFileSync } from 'node:fs';
import { readExposure } from './exposure.ts';
import { parseTrustedProxies } from './plugins/client-ip.ts';
import { defaultOperationLimits } from './plugins/operation-limits.ts';
import { startGateway } from './server.ts';
import { defaultWebSocketLimits } from './subscriptions/socket-limits.ts';
import { subgraphUrls } from './subgraph-urls.ts';

// Nothing phones home: no usage reporting, no telemetry, whatever else is set.
process.env.APOLLO_TELEMETRY_DISABLED = '1';
const logger = createLogger('gateway');

runMain(logger, async () => {
  // No MongoDB: the gateway reads nothing but NATS notices, and verifies tokens.
  const config = { ...readProcessConfig(process.env), natsUrl: readNatsUrl(process.env) };
  const auth = readVerifierAuth(process.env, config);
  const port = envPort(process.env, 'GATEWAY_PORT', 4000);
  const supergraphPath = envString(process.env, 'SUPERGRAPH_PATH', new URL('../../schema/supergraph.graphql', import.meta.url).pathname);
  const exposure = readExposure(process.env, config.environment);
  // Core NATS only: the gateway's NATS user may subscribe to notices and publish nothing.
  const nats = await connectNats(config.natsUrl, 'gateway', { coreOnly: true });
  if (auth.usesDevSecret) logger.warn('JWT_SECRET is not set: using the public development secret (see README).');
  const service = await startGateway({
    port,
    host: config.host,
    supergraphSdl: readFileSync(supergraphPath, 'utf8'),
    subgraphUrls: subgraphUrls(process.env),
    subgraphTimeoutMs: envNumber(process.env, 'SUBGRAPH_TIMEOUT_MS', 10_000, { min: 100, max: 120_000, integer: true }),
    verify: tokenVerifier(auth),
    nats,
    logger,
    exposeInternalErrors: config.environment === 'development',
    ...exposure,
    metrics: { port: envPort(process.env, 'GATEWAY_METRICS_PORT', 9466), host: envString(process.env, 'GATEWAY_METRICS_HOST', '127.0.0.1') },
    limits: {
      maxDepth: envNumber(process.env, 'GRAPHQL_MAX_DEPTH', defaultOperationLimits.maxDepth, { min: 1, integer: true }),
      maxAliases: envNumber(process.env, 'GRAPHQL_MAX_ALIASES', defaultOperationLimits.maxAliases, { min: 0, integer: true }),
      maxTokens: envNumber(process.env, 'GRAPHQL_MAX_TOKENS', defaultOperationLimits.maxTokens, { min: 50, integer: true }),
      maxCost: envNumber(process.env, 'GRAPHQL_MAX_COST', defaultOperationLimits.maxCost, { min: 1, integer: true }),
    },
    rateLimit: {
      perMinute: envNumber(process.env, 'RATE_LIMIT_PER_MINUTE', 600, { min: 0, integer: true }),
      burst: envNumber(process.env, 'RATE_LIMIT_BURST', 100, { min: 1, integer: true }),
    },
    trustedProxies: parseTrustedProxies(process.env.TRUSTED_PROXIES),
    maxBodyBytes: envNumber(process.env, 'MAX_BODY_BYTES', 1_000_000, { min: 1_000, integer: true }),
    connectionInitWaitTimeoutMs: envNumber(process.env, 'WS_CONNECTION_INIT_TIMEOUT_MS', 3_000, { min: 100, integer: true }),
    webSocketLimits: {
      maxPayloadBytes: envNumber(process.env, 'WS_MAX_PAYLOAD_BYTES', defaultWebSocketLimits.maxPayloadBytes, { min: 1_024, integer: true }),
      maxSocketsPerIdentity: envNumber(process.env, 'WS_MAX_SOCKETS_PER_IDENTITY', defaultWebSocketLimits.maxSocketsPerIdentity, { min: 1, integer: true }),
      maxSocketsPerIp: envNumber(process.env, 'WS_MAX_SOCKETS_PER_IP', defaultWebSocketLimits.maxSocketsPerIp, { min: 1, integer: true }),
      maxSubscriptionsPerSocket: envNumber(process.env, 'WS_MAX_SUBSCRIPTIONS_PER_SOCKET', defaultWebSocketLimits.maxSubscriptionsPerSocket, { min: 1, integer: true }),
    },
  });
  return [() => nats.close(), () => service.stop()];
});
