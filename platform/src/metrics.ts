import type { ApolloServerPlugin, BaseContext, GraphQLRequestListener } from '@apollo/server';
import { createServer, type Server } from 'node:http';
import { collectDefaultMetrics, Counter, Histogram, Registry } from 'prom-client';

export { Gauge, type Registry } from 'prom-client';

/**
 * How often the event-loop delay histogram samples (ms). prom-client's default, 10 ms, wakes
 * every process 100 times a second: 5 ms of CPU per second per idle process, measured (most of
 * what the whole system spent at rest). A stall still shows: it delays the next sample.
 */
export const EVENT_LOOP_SAMPLE_MS = 500;

/**
 * One Prometheus registry per process, every series labelled with the service name, with
 * Node's own figures (RSS, event-loop lag, GC) included. Served at `/metrics`.
 */
export function createMetricsRegistry(service: string): Registry {
  const registry = new Registry();
  registry.setDefaultLabels({ service });
  collectDefaultMetrics({ register: registry, eventLoopMonitoringPrecision: EVENT_LOOP_SAMPLE_MS });
  for (const name of PER_HANDLE_METRICS) registry.removeSingleMetric(name);
  return registry;
}

/**
 * Default metrics whose every scrape walks each open handle or file descriptor (the fd directory,
 * `process._getActiveHandles()`, the active resources): with 10,000 live sockets one scrape held
 * the gateway's event loop for 572 ms (bench:subscriptions, loaded machine), delaying every
 * offer behind it. The gateway counts its sockets itself (`graphql_ws_connections`).
 */
export const PER_HANDLE_METRICS = ['process_open_fds', 'nodejs_active_handles', 'nodejs_active_handles_total', 'nodejs_active_resources', 'nodejs_active_resources_total'] as const;

export interface LabelBounds {
  /** Longer values fold into `fallback`. */
  maxLength?: number;
  /** Once this many distinct values were seen, new ones fold into `fallback`. */
  maxDistinct?: number;
  /** Values that do not match fold into `fallback`. */
  pattern?: RegExp;
  fallback?: string;
}

/**
 * A label for a value a client chooses (an operation's name): each series costs memory for
 * the life of the process, so values are capped in length and in number; the rest are
 * counted under `other`.
 * @example const label = boundedLabel({ maxDistinct: 2 }); label('A'); label('B'); label('C') // → 'other'
 */
export function boundedLabel({ maxLength = 64, maxDistinct = 100, pattern = /^[_A-Za-z][_0-9A-Za-z]*$/, fallback = 'other' }: LabelBounds = {}) {
  const seen = new Set<string>();
  return (value: string): string => {
    if (seen.has(value)) return value;
    if (value.length > maxLength || !pattern.test(value) || seen.size >= maxDistinct) return fallback;
    seen.add(value);
    return value;
  };
}

/** Operation names as counted: at most 100 distinct names of at most 64 characters, the rest `other`. */
export const OPERATION_LABEL_BOUNDS = { maxLength: 64, maxDistinct: 100 } as const;

/**
 * Counts and times GraphQL operations by name, type and outcome (`ok`, or the first error
 * code): `graphql_operations_total` and `graphql_operation_duration_seconds`. The operation
 * name is the client's: bounded (`OPERATION_LABEL_BOUNDS`), so no client can grow the series
 * without limit; outcomes are error codes, bounded likewise.
 */
export function operationMetricsPlugin<C extends BaseContext>(registry: Registry): ApolloServerPlugin<C> {
  const operationLabel = boundedLabel(OPERATION_LABEL_BOUNDS);
  const outcomeLabel = boundedLabel({ maxLength: 64, maxDistinct: 50, pattern: /^[A-Z][A-Z0-9_]*$/, fallback: 'ERROR' });
  const typeLabel = (type: string | undefined) => (type === 'query' || type === 'mutation' || type === 'subscription' ? type : 'unknown');
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
  // The label objects of each operation name and type, made once (the names are bounded above).
  type Series = { labels: { operation: string; type: string }; ok: { operation: string; type: string; outcome: string } };
  const series = new Map<string | undefined, Map<string | null | undefined, Series>>();
  const seriesOf = (type: string | undefined, operationName: string | null | undefined): Series => {
    let byName = series.get(type);
    if (!byName) series.set(type, (byName = new Map()));
    let found = byName.get(operationName);
    if (!found) {
      const labels = { operation: operationName ? operationLabel(operationName) : 'anonymous', type: typeLabel(type) };
      // Names that fold into `other` share its series without being remembered one by one.
      found = { labels, ok: { ...labels, outcome: 'ok' } };
      if (labels.operation !== 'other') byName.set(operationName, found);
    }
    return found;
  };
  // One listener for every request (no closure per request): the start time rides on the
  // request's own `metrics.startHrTime`, which Apollo keeps for plugins.
  const listener: GraphQLRequestListener<C> = {
    async willSendResponse({ operationName, operation, errors, metrics }) {
      const { labels, ok } = seriesOf(operation?.operation, operationName);
      total.inc(errors?.length ? { ...labels, outcome: outcomeLabel(String(errors[0]?.extensions?.code ?? 'ERROR')) } : ok);
      const [seconds, nanoseconds] = process.hrtime(metrics.startHrTime);
      duration.observe(labels, seconds + nanoseconds / 1e9);
    },
  };
  return {
    async requestDidStart({ metrics }) {
      metrics.startHrTime ??= process.hrtime();
      return listener;
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
