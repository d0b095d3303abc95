/** How long a readiness probe waits for a dependency before it calls it unready. */
export const READINESS_TIMEOUT_MS = 1_500;

/**
 * One dependency's readiness: `null` when `probe` resolves within `timeoutMs`, a reason naming
 * `what` when it throws or does not answer in time (a stalled server never hangs `/ready`).
 * @example readinessCheck('NATS JetStream', () => nats.jsm.getAccountInfo())
 */
export async function readinessCheck(what: string, probe: () => Promise<unknown>, timeoutMs = READINESS_TIMEOUT_MS): Promise<string | null> {
  let timer: NodeJS.Timeout | undefined;
  const work = Promise.resolve().then(probe);
  const late = new Promise<string>((resolve) => (timer = setTimeout(() => resolve(`${what} did not answer within ${timeoutMs} ms`), timeoutMs)));
  try {
    return await Promise.race([work.then(() => null), late]);
  } catch (error) {
    return `${what} failed: ${error instanceof Error ? error.message : String(error)}`;
  } finally {
    clearTimeout(timer);
    work.catch(() => {});
  }
}

/** The first reason among several checks run in parallel, or `null` when all are ready. */
export async function firstReason(checks: ReadonlyArray<Promise<string | null>>): Promise<string | null> {
  return (await Promise.all(checks)).find((reason) => reason !== null) ?? null;
}

/**
 * A readiness function whose answer is reused for `ttlMs` (and shared by concurrent callers),
 * so probing `/ready` often costs the dependencies little.
 */
export function cachedReadiness(check: () => Promise<string | null>, ttlMs: number, now: () => number = Date.now): () => Promise<string | null> {
  let last: { at: number; answer: Promise<string | null> } | undefined;
  return () => {
    if (!last || now() - last.at >= ttlMs) last = { at: now(), answer: check().catch((error: unknown) => String(error)) };
    return last.answer;
  };
}
