import type { CommandMetadata } from '@happyride/domain';
import type { CommandContext as AppendContext, CommandHandler, CommandOutcome } from '@happyride/eventstore';
import type { CommandContext } from './command-subgraph.ts';
import { idempotent } from './idempotency.ts';
import { requireActor } from './request-identity.ts';

type AnyCommand = { type: string; data: object; metadata: CommandMetadata };
type CommandOf<C extends AnyCommand, T extends C['type']> = Extract<C, { type: T }>;

export interface CommandMutationOptions<C extends AnyCommand, S, P, Ctx extends CommandContext> {
  /** The aggregate's command handler, built once at start-up (`commandHandler`) and found in the context. */
  handler: (ctx: Ctx) => CommandHandler<C, S>;
  /** The command's aggregate id, validated: it becomes part of a NATS subject, so it is checked before anything is read. */
  aggregateId: (data: C['data']) => string;
  /** What the mutation answers, from the command's outcome. */
  payload: (id: string, outcome: CommandOutcome<S>, ctx: Ctx) => P;
}

/** What an append records of the request: its correlation id and, when traced, its trace context. */
export function appendContextOf(ctx: Pick<CommandContext, 'correlationId' | 'traceContext'>): AppendContext {
  const traceparent = ctx.traceContext?.traceparent;
  return { correlationId: ctx.correlationId, ...(traceparent ? { traceparent } : {}) };
}

/**
 * The mutations of one aggregate, each one command: `execute(mutation, input, type, data, ctx)`
 * runs it under the request's `Idempotency-Key` (`input` is what the client sent: the key's
 * fingerprint), as the caller, at the context's clock, with the request's correlation id, and
 * answers the payload.
 * @example
 * const execute = commandMutation({ handler: (ctx) => ctx.passengers, aggregateId: (data) => validId(data.passengerId, 'passengerId'), payload });
 * execute('banPassenger', input, 'BanPassenger', { passengerId: input.passengerId }, ctx);
 */
export function commandMutation<C extends AnyCommand, S, P, Ctx extends CommandContext>({ handler, aggregateId, payload }: CommandMutationOptions<C, S, P, Ctx>) {
  return function execute<T extends C['type']>(mutation: string, input: unknown, type: T, data: CommandOf<C, T>['data'], ctx: Ctx): Promise<P> {
    return idempotent(ctx, mutation, input, async ({ commandId }) => {
      const id = aggregateId(data);
      const command = { type, data, metadata: { commandId, actor: requireActor(ctx.actor), now: ctx.now().toISOString() } } as CommandOf<C, T>;
      return payload(id, await handler(ctx)(id, command, appendContextOf(ctx)), ctx);
    });
  };
}
