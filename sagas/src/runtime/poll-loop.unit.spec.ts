import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { pollSagas, type PolledSaga } from './poll-loop.ts';

/** A runner that counts its polls; its plan and wake-ups are set by the test. */
function fakeRunner() {
  let listener = () => {};
  const runner = {
    polls: 0,
    planned: undefined as number | undefined,
    pollDeadlines: async () => {
      runner.polls++;
      return 0;
    },
    sweep: async () => 0,
    nextPollAt: () => runner.planned,
    onWake: (wake: () => void) => void (listener = wake),
    wake: () => listener(),
  };
  return runner satisfies PolledSaga;
}

describe('pollSagas', () => {
  let stop: AbortController;
  beforeEach(() => {
    vi.useFakeTimers({ now: 0 });
    stop = new AbortController();
  });
  afterEach(() => {
    stop.abort();
    vi.useRealTimers();
  });
  const start = (runner: PolledSaga) => void pollSagas([runner], { signal: stop.signal, pollIntervalMs: 1_000, idlePollIntervalMs: 30_000 });

  it('given nothing armed or failed, when time passes, then it polls only every idle interval', async () => {
    const runner = fakeRunner();
    start(runner);
    await vi.advanceTimersByTimeAsync(29_999);
    expect(runner.polls).toBe(0);
    await vi.advanceTimersByTimeAsync(1);
    expect(runner.polls).toBe(1);
    await vi.advanceTimersByTimeAsync(30_000);
    expect(runner.polls).toBe(2);
  });

  it('given a deadline armed at 5 s, then it polls when it is due, not before', async () => {
    const runner = fakeRunner();
    runner.planned = 5_000;
    start(runner);
    await vi.advanceTimersByTimeAsync(4_999);
    expect(runner.polls).toBe(0);
    await vi.advanceTimersByTimeAsync(1);
    expect(runner.polls).toBe(1);
  });

  it('when the runner arms a deadline while the loop sleeps, then the loop wakes and polls when it is due', async () => {
    const runner = fakeRunner();
    start(runner);
    await vi.advanceTimersByTimeAsync(3_000);
    runner.planned = 4_500;
    runner.wake();
    await vi.advanceTimersByTimeAsync(1_499);
    expect(runner.polls).toBe(0);
    await vi.advanceTimersByTimeAsync(1);
    expect(runner.polls).toBe(1);
  });

  it('given work left to retry (planned now), then it polls at most every poll interval', async () => {
    const runner = fakeRunner();
    runner.planned = 0;
    start(runner);
    await vi.advanceTimersByTimeAsync(999);
    expect(runner.polls).toBe(0);
    await vi.advanceTimersByTimeAsync(2_001);
    expect(runner.polls).toBe(3);
  });
});
