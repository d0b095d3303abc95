/**
 * How many idempotency keys one caller may hold (pure). A key is remembered for `horizonMs`
 * after it is first used (its fingerprint's retention), so a caller's live keys are those first
 * used within the last horizon. They are counted per window of `horizonMs / 24`: a key first
 * used in window `w` is counted until `w + window + horizon`, never less than it lives.
 */
export interface KeyQuota {
  /** Window start (ms since the epoch, as text) → keys first used in that window. */
  windows: Record<string, number>;
}

export interface QuotaLimits {
  /** The most live keys one caller may hold. */
  perCaller: number;
  /** How long a key is remembered after its first use. */
  horizonMs: number;
}

export type Reservation = { kind: 'reserved'; quota: KeyQuota } | { kind: 'exhausted'; held: number; retryAfterMs: number };

export const quotaWindowMs = (horizonMs: number) => Math.max(1, Math.ceil(horizonMs / 24));

/** The windows still counted at `nowMs` (older ones dropped) and how many keys they hold. */
export function liveKeys(quota: KeyQuota | null, nowMs: number, horizonMs: number): { windows: [number, number][]; held: number } {
  const window = quotaWindowMs(horizonMs);
  const windows = Object.entries(quota?.windows ?? {})
    .map(([start, count]): [number, number] => [Number(start), count])
    .filter(([start, count]) => Number.isFinite(start) && count > 0 && start + window + horizonMs > nowMs)
    .sort(([a], [b]) => a - b);
  return { windows, held: windows.reduce((sum, [, count]) => sum + count, 0) };
}

/**
 * Counts one more key for the caller at `nowMs`, or answers that they hold `perCaller` already
 * and when the oldest of them is forgotten.
 * @example reserveKey(null, 0, { perCaller: 1, horizonMs: 24 }) // → { kind: 'reserved', quota: { windows: { '0': 1 } } }
 */
export function reserveKey(quota: KeyQuota | null, nowMs: number, { perCaller, horizonMs }: QuotaLimits): Reservation {
  const window = quotaWindowMs(horizonMs);
  const { windows, held } = liveKeys(quota, nowMs, horizonMs);
  if (held >= perCaller) {
    const oldest = windows[0]?.[0] ?? nowMs;
    return { kind: 'exhausted', held, retryAfterMs: Math.max(1, oldest + window + horizonMs - nowMs) };
  }
  const current = Math.floor(nowMs / window) * window;
  const counts = Object.fromEntries(windows.map(([start, count]) => [String(start), count]));
  counts[String(current)] = (counts[String(current)] ?? 0) + 1;
  return { kind: 'reserved', quota: { windows: counts } };
}

/** A caller holds as many keys as they may: the request is refused, not run without its key. */
export class IdempotencyKeyLimitError extends Error {
  override readonly name = 'IdempotencyKeyLimitError';
  constructor(
    readonly perCaller: number,
    readonly retryAfterMs: number,
  ) {
    super(`This caller holds ${perCaller} Idempotency-Keys, the most one caller may hold; send the request without a key, or with one after ${Math.ceil(retryAfterMs / 1000)} s.`);
  }
}

/** The idempotency store reached its size bound (max_bytes): nothing keyed can be recorded until keys expire. */
export class IdempotencyStoreFullError extends Error {
  override readonly name = 'IdempotencyStoreFullError';
}
