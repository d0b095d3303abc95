/**
 * Waits `ms`, or less if `signal` aborts. The listener is removed when the timer fires: a poll
 * loop must not pile them up on the signal.
 */
export const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
    if (signal?.aborted) done(); // aborted already: no event will come
  });
