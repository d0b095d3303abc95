/**
 * Waiting on observable state in tests. Both helpers poll, and both FAIL when the state does not
 * come within the timeout: a wait never returns the last value as if it had succeeded.
 */

export interface WaitOptions {
  /** Fails after this long. */
  timeoutMs?: number;
  /** Says what was awaited in the failure. */
  what?: string;
  /** Pause between probes. */
  intervalMs?: number;
}

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const optionsOf = (options: number | WaitOptions, timeoutMs: number): Required<WaitOptions> => {
  const given = typeof options === 'number' ? { timeoutMs: options } : options;
  return { timeoutMs: given.timeoutMs ?? timeoutMs, what: given.what ?? 'the awaited state', intervalMs: given.intervalMs ?? 20 };
};

/**
 * Polls `probe` until `ok` holds of its value (read models are eventually consistent) and returns
 * that value; fails with the last value seen when it does not hold in time.
 */
export async function eventually<T>(probe: () => Promise<T>, ok: (value: T) => boolean, options: number | WaitOptions = {}): Promise<T> {
  const { timeoutMs, what, intervalMs } = optionsOf(options, 10_000);
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (ok(value)) return value;
    if (Date.now() > deadline) throw new Error(`${what}: not so within ${timeoutMs} ms; last seen: ${JSON.stringify(value)?.slice(0, 500)}`);
    await pause(intervalMs);
  }
}

/** Waits until a synchronous condition holds (messages received, a socket closed); fails when it does not in time. */
export async function until(ok: () => boolean, options: number | WaitOptions = {}): Promise<void> {
  const { timeoutMs, what, intervalMs } = optionsOf(options, 10_000);
  const deadline = Date.now() + timeoutMs;
  while (!ok()) {
    if (Date.now() > deadline) throw new Error(`${what}: not so within ${timeoutMs} ms`);
    await pause(intervalMs);
  }
}
