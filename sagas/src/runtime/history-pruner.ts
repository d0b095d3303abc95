import { sleep } from '@happyride/eventstore';
import type { Logger } from '@happyride/platform';

/** What the pruner needs of the saga store. */
export interface PrunableHistory {
  pruneEnded(before: Date, limit?: number): Promise<number>;
}

export interface HistoryPrunerOptions {
  /** How long a saga's history is kept after it ended (`SAGA_HISTORY_RETENTION_MS`). */
  retentionMs: number;
  /** How often it looks for history past the retention. */
  intervalMs: number;
  signal: AbortSignal;
  logger?: Logger | undefined;
  now?: () => number;
}

const PAGE = 100;

/**
 * Prunes the history of sagas that ended more than `retentionMs` ago, a page at a time, every
 * `intervalMs`, until `signal` aborts. Safe with several workers (every delete is idempotent)
 * and across restarts (what a round left is found by the next).
 */
export async function pruneSagaHistory(store: PrunableHistory, { retentionMs, intervalMs, signal, logger, now = Date.now }: HistoryPrunerOptions): Promise<void> {
  while (!signal.aborted) {
    const before = new Date(now() - retentionMs);
    let pruned = 0;
    try {
      for (let page = PAGE; page === PAGE && !signal.aborted; pruned += page) page = await store.pruneEnded(before, PAGE);
    } catch (error) {
      // MongoDB away: the next round picks up where this one stopped.
      logger?.warn({ err: error }, 'pruning saga history failed; trying again next round');
    }
    if (pruned > 0) logger?.info({ pruned, before }, 'pruned the history of ended sagas');
    await sleep(intervalMs, signal);
  }
}
