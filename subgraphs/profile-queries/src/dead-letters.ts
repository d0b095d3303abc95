import { forbidden } from '@happyride/domain';
import type { DeadLetter } from '@happyride/eventstore';
import { DEAD_LETTER_PAGE, MongoDeadLetterStore, requireActor, type QueryContext } from '@happyride/platform';
import type { DeadLetter as DeadLetterNode, QueryDeadLettersArgs } from './generated/resolvers-types.ts';

const toGraphQL = (letter: DeadLetter): DeadLetterNode => ({
  id: letter._id,
  consumer: letter.consumer,
  aggregateType: letter.commit.aggregateType,
  aggregateId: letter.commit.aggregateId,
  version: letter.commit.version,
  streamSequence: letter.streamSequence,
  eventTypes: letter.commit.events.map((event) => event.type),
  correlationId: letter.commit.events[0]?.correlationId ?? null,
  reason: letter.reason === 'failed' ? 'FAILED' : 'HELD',
  error: letter.error,
  attempts: letter.attempts,
  parkedAt: letter.parkedAt,
  retryRequested: letter.retryRequestedAt !== null,
});

/** `deadLetters`: the parked commits, for admins only. */
export async function deadLetters(_: unknown, { consumer, first }: QueryDeadLettersArgs, ctx: QueryContext) {
  const actor = requireActor(ctx.actor);
  if (actor.role !== 'admin') throw forbidden('Dead letters are visible to admins only.');
  const size = Math.min(Math.max(first ?? DEAD_LETTER_PAGE.default, DEAD_LETTER_PAGE.min), DEAD_LETTER_PAGE.max);
  const letters = await new MongoDeadLetterStore(ctx.db).list(consumer ?? undefined, size);
  return letters.map(toGraphQL);
}
