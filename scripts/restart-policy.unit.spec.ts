import { describe, expect, it } from 'vitest';
import { defaultRestartPolicy, describeExit, restartDelayMs } from './system.ts';

describe("the launcher's restart backoff", () => {
  it('given crashes in a row, then the delay starts at 0.5 s and doubles up to 30 s', () => {
    const delays = [1, 2, 3, 4, 5, 6, 7, 8, 9].map((n) => restartDelayMs(defaultRestartPolicy, n));
    expect(delays).toEqual([500, 1_000, 2_000, 4_000, 8_000, 16_000, 30_000, 30_000, 30_000]);
  });

  it('given an exit, then the launcher names its code or its signal', () => {
    expect(describeExit(1, null)).toBe('code 1');
    expect(describeExit(null, 'SIGKILL')).toBe('signal SIGKILL');
  });
});
