import type { Actor } from '@happyride/domain';

/** What the gateway knows of a request: who is calling (verified here) and its correlation id. */
export interface GatewayContext {
  actor: Actor | null;
  /** The caller's `Authorization` header, forwarded to the subgraphs. */
  authorization?: string;
  correlationId: string;
  /** W3C trace context of this operation's span (set by the tracing plugin), sent to the subgraphs. */
  traceparent?: string;
}
