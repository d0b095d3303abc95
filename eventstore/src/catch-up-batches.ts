/**
 * How big a reader's batches grow: small at the head (latency), large while far behind it
 * (throughput: a projector writes each document once per batch, so a larger batch writes a
 * document that many commits touch fewer times).
 */
export interface BatchSizes {
  /** At the head: whatever has arrived when the handler is free, up to this many. */
  atHead: number;
  /** Far behind (more than `atHead` commits in hand and waiting): wait for up to this many. */
  behind: number;
}

/** Where the reader stands when a commit has been put in the batch in hand. */
export interface BatchInHand {
  /** Commits in the batch in hand. */
  inHand: number;
  /** Commits already delivered to this process, not yet in the batch. */
  buffered: number;
  /** Matching commits the server has not delivered yet (a delivery's `info.pending`). */
  onServer: number;
}

/** The most commits the batch in hand may grow to: `behind` while far behind the head, else `atHead`. */
export function batchLimit({ inHand, buffered, onServer }: BatchInHand, { atHead, behind }: BatchSizes): number {
  return inHand + buffered + onServer > atHead ? Math.max(atHead, behind) : atHead;
}

/**
 * Whether to hand the batch over now: it is full, or nothing more is at hand: at the head
 * once the buffer is empty (as soon as possible), far behind once the server has nothing
 * more either (the reader waits for the next pull instead of handing over a small batch).
 *
 * @example handOver({ inHand: 3, buffered: 0, onServer: 0 }, { atHead: 500, behind: 5000 }) // true: at the head
 * @example handOver({ inHand: 800, buffered: 0, onServer: 40_000 }, { atHead: 500, behind: 5000 }) // false: wait for more
 */
export function handOver(at: BatchInHand, sizes: BatchSizes): boolean {
  const limit = batchLimit(at, sizes);
  if (at.inHand >= limit) return true;
  if (at.buffered > 0) return false;
  return limit === sizes.atHead || at.onServer === 0;
}

/** `behind`, but never more than the consumer lets be delivered unacknowledged (else a batch waiting for it would wait for ever). */
export function catchUpSizes(atHead: number, behind: number, maxAckPending: number | undefined): BatchSizes {
  const cap = maxAckPending !== undefined && maxAckPending > 0 ? maxAckPending : Number.POSITIVE_INFINITY;
  return { atHead: Math.min(atHead, cap), behind: Math.min(Math.max(atHead, behind), cap) };
}
