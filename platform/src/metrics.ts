import type { ApolloServerPlugin, BaseContext } from '@apollo/server';
import { createServer, type Server } from 'node:http';
import { collectDefaultMetrics, Counter, Histogram, Registry } from 'prom-client';

export { Gauge, type Registry } from 'prom-client';

/**
 * One Prometheus registry per process, every series labelled with the service name, with
 * Node's own figures (RSS, event-loop lag, GC) included. Served at `/metrics`.
 */
export function createMetricsRegistry(service: string): Registry {
  const registry = new Registry();
  registry.setDefaultLabels({ service });
  collectDefaultMetrics({ register: registry });
  return registry;
}

/**
 * Counts and times GraphQL operations by name, type and outcome (`ok`, or the first error
 * code): `graphql_operations_total` and `graphql_operation_duration_seconds`.
 */
export function operationMetricsPlugin<C extends BaseContext>(registry: Registry): ApolloServerPlugin<C> {
  const total = new Counter({
    name: 'graphql_operations_total',
    help: 'GraphQL operations served, by operation name, type and outcome.',
    labelNames: ['operation', 'type', 'outcome'],
    registers: [registry],
  });
  const duration = new Histogram({
    name: 'graphql_operation_duration_seconds',
    help: 'Time from request to response, by operation name and type.',
    labelNames: ['operation', 'type'],
    buckets: [0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [registry],
  });
  return {
    async requestDidStart() {
      const started = process.hrtime.bigint();
      return {
        async willSendResponse({ operationName, operation, errors }) {
          const labels = { operation: operationName ?? 'anonymous', type: operation?.operation ?? 'unknown' };
          const code = errors?.[0]?.extensions?.code;
          total.inc({ ...labels, outcome: errors?.length ? String(code ?? 'ERROR') : 'ok' });
          duration.observe(labels, Number(process.hrtime.bigint() - started) / 1e9);
        },
      };
    },
  };
}

/**
 * For processes without an HTTP API (workers): `/metrics`, `/health` (the process lives) and
 * `/ready` (200 once `readiness` resolves to null, 503 with the reason before) on their own port.
 */
export async function startMetricsServer(
  registry: Registry,
  port: number,
  { host = '127.0.0.1', readiness = async () => null }: { host?: string; readiness?: () => Promise<string | null> } = {},
): Promise<Server> {
  const server = createServer((req, res) => {
    if (req.url === '/metrics') {
      registry.metrics().then(
        (body) => res.writeHead(200, { 'content-type': registry.contentType }).end(body),
        (error: unknown) => res.writeHead(500).end(String(error)),
      );
    } else if (req.url === '/health') {
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"status":"ok"}');
    } else if (req.url === '/ready') {
      readiness().then(
        (reason) =>
          reason
            ? res.writeHead(503, { 'content-type': 'application/json' }).end(JSON.stringify({ status: 'unavailable', reason }))
            : res.writeHead(200, { 'content-type': 'application/json' }).end('{"status":"ready"}'),
        (error: unknown) => res.writeHead(503).end(String(error)),
      );
    } else {
      res.writeHead(404).end();
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, resolve);
  });
  return server;
}
