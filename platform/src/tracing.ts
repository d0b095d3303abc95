import { defaultTextMapGetter, defaultTextMapSetter, isSpanContextValid, ROOT_CONTEXT, SpanKind, SpanStatusCode, trace, type Attributes, type Span } from '@opentelemetry/api';
import type { ApolloServerPlugin, BaseContext } from '@apollo/server';
import { parseTraceParent, W3CTraceContextPropagator } from '@opentelemetry/core';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { Resource } from '@opentelemetry/resources';
import { BasicTracerProvider, BatchSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { envOptional } from './config.ts';

/**
 * OpenTelemetry traces, off unless `OTEL_EXPORTER_OTLP_ENDPOINT` is set (then spans go there
 * over OTLP/HTTP, `<endpoint>/v1/traces`). The trace context travels as a W3C `traceparent`:
 * gateway → subgraph in the HTTP header, subgraph → projector / saga worker in the event's
 * NATS header. Spans are started with an explicit parent (no async context manager), so
 * without an exporter everything here is the API's no-op and costs next to nothing.
 */
export function startTracing(service: string, env: Record<string, string | undefined>): { shutdown(): Promise<void> } {
  const endpoint = envOptional(env, 'OTEL_EXPORTER_OTLP_ENDPOINT');
  if (!endpoint) return { shutdown: async () => {} };
  exporting = true;
  const provider = new BasicTracerProvider({
    resource: new Resource({ 'service.name': service }),
    spanProcessors: [new BatchSpanProcessor(new OTLPTraceExporter({ url: `${endpoint.replace(/\/+$/, '')}/v1/traces` }))],
  });
  trace.setGlobalTracerProvider(provider);
  return { shutdown: () => provider.shutdown() };
}

/** Whether spans go anywhere (set by `startTracing`, before any server is built). */
let exporting = false;

const w3c = new W3CTraceContextPropagator();
const tracer = () => trace.getTracer('happyride');

/** Starts a span whose parent is the given `traceparent` (none: a new trace). */
export function startSpan(name: string, traceparent: string | undefined, { kind = SpanKind.INTERNAL, attributes = {}, startTime }: { kind?: SpanKind; attributes?: Attributes; startTime?: Date } = {}): Span {
  const parent = traceparent ? w3c.extract(ROOT_CONTEXT, { traceparent }, defaultTextMapGetter) : ROOT_CONTEXT;
  return tracer().startSpan(name, { kind, attributes, ...(startTime ? { startTime } : {}) }, parent);
}

/** The `traceparent` that makes `span` the parent of the next hop (undefined when there is no trace). */
export function traceparentOf(span: Span): string | undefined {
  const carrier: Record<string, string> = {};
  w3c.inject(trace.setSpan(ROOT_CONTEXT, span), carrier, defaultTextMapSetter);
  return carrier['traceparent'];
}

/**
 * One SERVER span per GraphQL operation, child of the request's `traceparent` header; its own
 * traceparent is put in the context (`contextValue.traceparent`) for the next hop. Without an
 * exporter the plugin has no per-request hook at all (`passTraceparent` forwards the caller's
 * trace context instead, from the context function).
 */
export function tracingPlugin<C extends BaseContext>(service: string): ApolloServerPlugin<C> {
  if (!exporting) return {};
  return {
    async requestDidStart({ request, contextValue }) {
      const header = request.http?.headers.get('traceparent') ?? undefined;
      const span = startSpan(`${service} graphql`, header, { kind: SpanKind.SERVER, attributes: { 'service.component': service } });
      const traceparent = traceparentOf(span);
      if (traceparent) setTraceparent(contextValue, traceparent);
      return {
        async didResolveOperation({ operationName, operation }) {
          const type = operation?.operation ?? 'unknown';
          span.updateName(`${service} ${type} ${operationName ?? 'anonymous'}`);
          span.setAttributes({ 'graphql.operation.name': operationName ?? 'anonymous', 'graphql.operation.type': type });
        },
        async willSendResponse({ errors }) {
          if (errors?.length) span.setStatus({ code: SpanStatusCode.ERROR, message: String(errors[0]?.extensions?.code ?? errors[0]?.message) });
          span.end();
        },
      };
    },
  };
}

/**
 * With no spans to make: the caller's trace context goes on to the next hop as it came (what the
 * API's no-op span would give, without its per-request contexts and propagation). Called by the
 * context function with the request's `traceparent` header; does nothing while spans are exported
 * (`tracingPlugin` then sets the span's own).
 */
export function passTraceparent(header: string | string[] | undefined, contextValue: BaseContext): void {
  if (exporting || typeof header !== 'string' || !isValidTraceparent(header)) return;
  setTraceparent(contextValue, header);
}

/** A `traceparent` the W3C propagator would accept (well formed, ids not all zero). */
function isValidTraceparent(header: string): boolean {
  const parsed = parseTraceParent(header);
  return parsed !== null && isSpanContextValid(parsed);
}

/**
 * Puts the next hop's `traceparent` in the context. Apollo hands resolvers a shallow copy of the
 * context: a holder made by the context function (`traceContext`) is shared with it, a field set
 * here only on the copy.
 */
function setTraceparent(contextValue: BaseContext, traceparent: string): void {
  const context = contextValue as { traceparent?: string; traceContext?: { traceparent?: string } };
  context.traceparent = traceparent;
  if (context.traceContext) context.traceContext.traceparent = traceparent;
}

/** Spans for the commits a consumer applied, each a child of its event's `traceparent` (those without one are skipped). */
export function recordConsumerSpans(name: string, batch: readonly { traceparent?: string; commit: { aggregateType: string; aggregateId: string; version: number } }[], startTime: Date): void {
  for (const delivery of batch) {
    if (!delivery.traceparent) continue;
    const { aggregateType, aggregateId, version } = delivery.commit;
    startSpan(name, delivery.traceparent, { kind: SpanKind.CONSUMER, startTime, attributes: { 'happyride.aggregate': `${aggregateType}:${aggregateId}`, 'happyride.version': version } }).end();
  }
}
