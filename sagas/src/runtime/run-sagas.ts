import { consumeCommits, type DeadLetterPolicy, type Delivery, type Nats } from '@happyride/eventstore';
import { logDeadLetters, type Logger } from '@happyride/platform';
import { sleep } from '@happyride/eventstore';

/** What `runSagas` needs of a runner (a `SagaRunner` of any saga). */
export interface RunnableSaga {
  handleBatch(batch: readonly Delivery[]): Promise<void>;
  pollDeadlines(): Promise<number>;
  sweep(): Promise<number>;
}

/**
 * Several sagas on one durable consumer: each batch goes to every runner in turn (each
 * deduplicates what it has handled, so a batch retried after one of them failed is harmless
 * to the others); deadlines and unfinished outboxes of each are polled every `pollIntervalMs`.
 * Like `SagaRunner.run`, for sagas that read the same events.
 */
export async function runSagas(
  nats: Nats,
  runners: readonly RunnableSaga[],
  {
    consumerName,
    signal,
    pollIntervalMs = 1_000,
    logger,
    deadLetters,
  }: { consumerName: string; signal: AbortSignal; pollIntervalMs?: number; logger?: Logger; deadLetters?: DeadLetterPolicy },
): Promise<void> {
  for (const runner of runners) await runner.sweep();
  const poller = (async () => {
    while (!signal.aborted) {
      await sleep(pollIntervalMs, signal);
      for (const runner of runners) {
        if (signal.aborted) break;
        try {
          await runner.pollDeadlines();
          await runner.sweep();
        } catch (error) {
          logger?.warn({ err: error }, 'saga poll failed; retrying');
        }
      }
    }
  })();
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
