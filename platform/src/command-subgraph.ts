import type { Actor } from '@happyride/domain';
import { connectNats, EVENTS_STREAM, JetStreamEventStore, KvIdempotencyKeys, streamHasLeader, type EventStore, type IdempotencyKeys, type Nats } from '@happyride/eventstore';
import type { DocumentNode } from 'graphql';
import { envNumber, envPort, readIdempotencyKeysPerCaller, readNatsUrl, readProcessConfig, readVerifierAuth } from './config.ts';
import { startGraphQLService } from './graphql-service.ts';
import { tokenVerifier } from './identity.ts';
import { createLogger } from './logger.ts';
import { runMain } from './process.ts';
import { idempotencyKeyHeader } from './idempotency.ts';
import { readinessCheck } from './readiness.ts';
import { identify } from './request-identity.ts';
import { subgraphSchema, type SubgraphResolvers } from './subgraph-schema.ts';

/** What every write subgraph's resolvers get, plus its own dependencies (`D`). */
export type CommandContext<D = object> = D & {
  actor: Actor | null;
  correlationId: string;
  /** W3C trace context of this operation's span, set by the tracing plugin; appends carry it (`appendContextOf`). */
  traceContext?: { traceparent?: string };
  store: EventStore;
  now: () => Date;
  /** The request's `Idempotency-Key` header, as sent (see `idempotent`). */
  idempotencyKey?: string | undefined;
  idempotency: IdempotencyKeys;
};

export interface CommandSubgraphDefinition<D> {
  name: string;
  typeDefs: DocumentNode;
  resolvers: SubgraphResolvers<CommandContext<D>>;
  /** The environment variable with its port, and the port without it. */
  port: { variable: string; fallback: number };
  /**
   * Its own dependencies, built once at start-up from the environment, the NATS connection
   * and the event store (validated there: a bad value stops start-up naming the variable),
   * e.g. its aggregates' command handlers.
   */
  dependencies: (env: Record<string, string | undefined>, nats: Nats, store: EventStore) => D | Promise<D>;
}

/**
 * A write subgraph's `main`: configuration, NATS and the JetStream event store, its own
 * dependencies, the GraphQL server (`/graphql`, `/health`, `/ready`, `/metrics`) and a
 * graceful stop. Each request's context has the caller, the correlation id, the store and
 * the clock.
 */
export function runCommandSubgraph<D extends object>(definition: CommandSubgraphDefinition<D>): void {
  const logger = createLogger(definition.name);
  runMain(logger, async () => {
    // NATS and tokens; no MongoDB (a command subgraph decides from the event log).
    const config = { ...readProcessConfig(process.env), natsUrl: readNatsUrl(process.env) };
    const auth = readVerifierAuth(process.env, config);
    const port = envPort(process.env, definition.port.variable, definition.port.fallback);
    const timeoutMs = envNumber(process.env, 'EVENT_LOG_TIMEOUT_MS', 2_000, { min: 100, max: 60_000, integer: true });
    const nats = await connectNats(config.natsUrl, definition.name);
    // Reads and appends answer within timeoutMs: NATS down is SERVICE_UNAVAILABLE, not a hang.
    const store = new JetStreamEventStore(nats.js, nats.jsm, { timeoutMs });
    const dependencies = await definition.dependencies(process.env, nats, store);
    const idempotency = await KvIdempotencyKeys.open(nats.js, { perCaller: readIdempotencyKeysPerCaller(process.env) });
    const verify = tokenVerifier(auth);
    const now = () => new Date();
    const service = await startGraphQLService<CommandContext<D>>({
      name: definition.name,
      port,
      host: config.host,
      logger,
      exposeInternalErrors: config.environment === 'development',
      // The event stream's own leader answers: a connection that is open but unanswered, or a
      // cluster electing the stream's leader (appends fail meanwhile), is not ready.
      readiness: () => readinessCheck('the event log (stream EVENTS)', () => streamHasLeader(nats.jsm, EVENTS_STREAM)),
      apollo: { schema: subgraphSchema(definition.typeDefs, definition.resolvers) },
      context: async ({ req, correlationId }) => {
        const traceContext: { traceparent?: string } = {};
        const actor = await identify(req.headers, verify);
        const idempotencyKey = idempotencyKeyHeader(req.headers);
        return { ...dependencies, actor, correlationId, store, now, traceContext, idempotency, idempotencyKey };
      },
    });
    return [() => nats.close(), () => service.stop()];
  });
}
