import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, graphqlClient, tokenFor } from '../support/graphql-client.ts';
import { startTestSystem } from '../support/system.ts';

/** One span as a test OTLP/HTTP (JSON) receiver keeps it. */
interface ReceivedSpan {
  service: string;
  name: string;
  traceId: string;
  spanId: string;
  parentSpanId?: string;
}

interface OtlpRequest {
  resourceSpans?: Array<{
    resource?: { attributes?: Array<{ key: string; value: { stringValue?: string } }> };
    scopeSpans?: Array<{ spans?: Array<{ name: string; traceId: string; spanId: string; parentSpanId?: string }> }>;
  }>;
}

let system: Awaited<ReturnType<typeof startTestSystem>>;
let gql: ReturnType<typeof graphqlClient>;
let collector: Server;
const spans: ReceivedSpan[] = [];

beforeAll(async () => {
  // A real HTTP server that receives what the processes export over OTLP/HTTP.
  collector = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk: Buffer) => (body += chunk.toString()));
    req.on('end', () => {
      if (req.url === '/v1/traces') {
        for (const resourceSpans of (JSON.parse(body) as OtlpRequest).resourceSpans ?? []) {
          const service = resourceSpans.resource?.attributes?.find((a) => a.key === 'service.name')?.value.stringValue ?? '?';
          for (const scope of resourceSpans.scopeSpans ?? []) for (const span of scope.spans ?? []) spans.push({ service, ...span });
        }
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((resolve) => collector.listen(0, '127.0.0.1', resolve));
  const endpoint = `http://127.0.0.1:${(collector.address() as AddressInfo).port}`;
  system = await startTestSystem({ OTEL_EXPORTER_OTLP_ENDPOINT: endpoint, OTEL_BSP_SCHEDULE_DELAY: '100' });
  gql = graphqlClient(system.gatewayUrl);
});
afterAll(async () => {
  await system?.stop();
  await new Promise((resolve) => collector?.close(resolve));
});

const here = { lng: 116.3975, lat: 39.9087 };
const there = { lng: 116.4066, lat: 39.8822 };

describe('OpenTelemetry traces over OTLP', () => {
  it('given tracing on, when a trip is requested through the gateway, then one trace joins the gateway, the subgraph, the projection and the saga', async () => {
    // given a passenger
    const token = await tokenFor('passenger', `p-${randomUUID().slice(0, 8)}`);
    await gql('mutation { registerPassenger(input: { name: "Ada" }) { id } }', { token });
    // when they request a trip (a named operation)
    const requested = await gql<{ requestTrip: { id: string } }>(
      'mutation RequestTripTraced($s: PositionInput!, $e: PositionInput!) { requestTrip(input: { start: $s, end: $e }) { id } }',
      { token, variables: { s: here, e: there } },
    );
    expect(requested.data?.requestTrip.id).toBeTruthy();
    // then the gateway's span for it starts a trace
    const root = await eventually(
      async () => spans.find((s) => s.service === 'gateway' && s.name === 'gateway mutation RequestTripTraced'),
      (span) => span !== undefined,
      20_000,
    );
    expect(root).toBeDefined();
    const inTrace = () => spans.filter((s) => s.traceId === root!.traceId);
    // and the same trace holds the subgraph's operation, the trip-history projection and the saga
    await eventually(
      async () => inTrace().map((s) => s.name),
      (names) => names.some((n) => n.startsWith('trip-commands mutation RequestTripTraced')) && ['project trip-history', 'saga trip-creation'].every((n) => names.includes(n)),
      20_000,
    );
    const byName = new Map(inTrace().map((s) => [s.name, s]));
    // (the gateway names the subgraph's operation after the client's: RequestTripTraced__trip_commands__0)
    const subgraph = inTrace().find((s) => s.name.startsWith('trip-commands mutation RequestTripTraced'));
    expect(subgraph?.service).toBe('trip-commands');
    expect(subgraph?.parentSpanId).toBe(root!.spanId);
    // the workers' spans are children of the subgraph's span, through the event's NATS header
    expect(byName.get('project trip-history')?.service).toBe('projector');
    expect(byName.get('project trip-history')?.parentSpanId).toBe(subgraph?.spanId);
    expect(byName.get('saga trip-creation')?.service).toBe('saga-worker');
    expect(byName.get('saga trip-creation')?.parentSpanId).toBe(subgraph?.spanId);
  });
});
