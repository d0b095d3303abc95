import type { Actor } from '@happyride/domain';

/** What the gateway knows of a request: who is calling (verified here) and its correlation id. */
export interface GatewayContext {
  actor: Actor | null;
  /** The caller's `Authorization` header, forwarded to the subgraphs. */
  authorization?: string;
  correlationId: string;
}
