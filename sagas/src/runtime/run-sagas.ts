import { consumeCommits, type DeadLetterPolicy, type Delivery, type Nats } from '@happyride/eventstore';
import { logDeadLetters, type Logger } from '@happyride/platform';
import { pollSagas, type PolledSaga } from './poll-loop.ts';

/** What `runSagas` needs of a runner (a `SagaRunner` of any saga). */
export interface RunnableSaga extends PolledSaga {
  handleBatch(batch: readonly Delivery[]): Promise<void>;
  sweep(options?: { legacy?: boolean }): Promise<number>;
}

/**
 * Several sagas on one durable consumer: each batch goes to every runner in turn (each
 * deduplicates what it has handled, so a batch retried after one of them failed is harmless
 * to the others); deadlines fire when due and unfinished outboxes are retried (see `pollSagas`:
 * at most every `pollIntervalMs`, at least every `idlePollIntervalMs`).
 * Like `SagaRunner.run`, for sagas that read the same events.
 */
export async function runSagas(
  nats: Nats,
  runners: readonly RunnableSaga[],
  {
    consumerName,
    signal,
    pollIntervalMs = 1_000,
    idlePollIntervalMs = 30_000,
    logger,
    deadLetters,
  }: { consumerName: string; signal: AbortSignal; pollIntervalMs?: number; idlePollIntervalMs?: number; logger?: Logger; deadLetters?: DeadLetterPolicy },
): Promise<void> {
  for (const runner of runners) {
    await runner.sweep({ legacy: true });
    await runner.pollDeadlines();
  }
  const poller = pollSagas(runners, { signal, pollIntervalMs, idlePollIntervalMs, logger });
  await consumeCommits(
    nats.js,
    consumerName,
    async (batch) => {
      for (const runner of runners) await runner.handleBatch(batch);
    },
    {
      signal,
      maxBatch: 50,
      ...(deadLetters ? { deadLetters: logger ? logDeadLetters(deadLetters, logger) : deadLetters } : {}),
      onError: (error, batch) => logger?.warn({ err: error, commits: batch.length, firstSequence: batch[0]?.streamSequence }, 'saga batch failed; retrying'),
    },
  );
  await poller;
}
