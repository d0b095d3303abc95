import { sleep } from '@happyride/eventstore';
import type { Logger } from '@happyride/platform';

/** What the poll loop needs of a runner (a `SagaRunner` of any saga). */
export interface PolledSaga {
  pollDeadlines(): Promise<number>;
  sweep(): Promise<number>;
  /**
   * When this runner wants to be polled next (epoch ms): its next armed deadline, or soon when
   * an outbox is left to retry; undefined when it has nothing planned.
   */
  nextPollAt(): number | undefined;
  /** Calls `listener` whenever `nextPollAt` may have moved earlier (a deadline armed, a command failed). */
  onWake(listener: () => void): void;
}

export interface PollLoopOptions {
  signal: AbortSignal;
  /** Never polls more often than this (ms): how soon a failed outbox or a contended deadline is retried. */
  pollIntervalMs: number;
  /**
   * Polls at least this often (ms) with nothing planned: how late an outbox or deadline left by
   * another worker that died is taken over. In between, the loop sleeps until the next deadline.
   */
  idlePollIntervalMs: number;
  logger?: Logger | undefined;
  now?: () => number;
}

/**
 * Fires deadlines and sweeps outboxes of `runners`, waking when the next armed deadline is due,
 * when a runner asks (a deadline armed, a command failed), and otherwise every
 * `idlePollIntervalMs`: an idle worker reads nothing most of the time, and a deadline still
 * fires on time. Each wake reads only what is armed or unfinished (index-backed queries), never
 * the history.
 */
export async function pollSagas(runners: readonly PolledSaga[], { signal, pollIntervalMs, idlePollIntervalMs, logger, now = Date.now }: PollLoopOptions): Promise<void> {
  let wake: (() => void) | undefined;
  for (const runner of runners) runner.onWake(() => wake?.());
  let lastPoll = now();
  let failed = false;
  while (!signal.aborted) {
    const planned = runners.map((runner) => runner.nextPollAt()).filter((at): at is number => at !== undefined);
    const at = Math.max(lastPoll + pollIntervalMs, failed ? 0 : Math.min(lastPoll + idlePollIntervalMs, ...planned));
    if (at > now()) {
      // Sleeps until `at`, the abort, or a runner's wake (then plans again: the wake may be for later).
      const early = new AbortController();
      const onAbort = () => early.abort();
      signal.addEventListener('abort', onAbort, { once: true });
      wake = () => early.abort();
      await sleep(at - now(), early.signal);
      signal.removeEventListener('abort', onAbort);
      wake = undefined;
      continue;
    }
    lastPoll = now();
    failed = false;
    for (const runner of runners) {
      if (signal.aborted) break;
      try {
        await runner.pollDeadlines();
        await runner.sweep();
      } catch (error) {
        failed = true;
        logger?.warn({ err: error }, 'saga poll failed; retrying');
      }
    }
  }
}
