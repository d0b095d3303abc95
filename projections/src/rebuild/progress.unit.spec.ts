import { describe, expect, it } from 'vitest';
import { drawnLine, etaMs, formatDuration, formatProgress, groupDigits, rateOf, shouldDraw, type ProgressSample } from './progress.ts';

const sample = (overrides: Partial<ProgressSample> = {}): ProgressSample => ({
  projection: 'trip-history',
  generation: 1,
  phase: 'replaying',
  done: 4_200,
  total: 10_000,
  elapsedMs: 2_000,
  ...overrides,
});

describe('rebuild progress line', () => {
  it('given 4 200 of 10 000 events in 2 s, when formatted, then it shows the bar, counts, percent, rate and ETA', () => {
    expect(formatProgress(sample())).toBe(
      'trip-history → g1 replaying [##########..............] 4 200/10 000  42.0%  2 100 ev/s  ETA 3s',
    );
  });

  it('given nothing done yet, when formatted, then the rate is 0 and the ETA unknown', () => {
    expect(formatProgress(sample({ done: 0, elapsedMs: 0 }))).toContain('0/10 000  0.0%  0 ev/s  ETA --');
  });

  it('given an empty stream, when formatted, then the bar is full (nothing to do)', () => {
    expect(formatProgress(sample({ done: 0, total: 0, phase: 'catching up' }))).toContain('catching up [########################] 0/0  100.0%');
  });

  it('given the rate so far, when estimating, then the time left is what remains at that rate', () => {
    expect(rateOf({ done: 500, elapsedMs: 250 })).toBe(2000);
    expect(etaMs({ done: 500, total: 2500, elapsedMs: 250 })).toBe(1000);
    expect(etaMs({ done: 10, total: 10, elapsedMs: 0 })).toBe(0);
    expect(etaMs({ done: 0, total: 10, elapsedMs: 0 })).toBeNaN();
  });

  it('given durations, when formatted, then they read as seconds, minutes or hours', () => {
    expect(formatDuration(45_000)).toBe('45s');
    expect(formatDuration(187_000)).toBe('3m07s');
    expect(formatDuration(7_500_000)).toBe('2h05m');
    expect(formatDuration(Number.NaN)).toBe('--');
  });

  it('given large numbers, when grouped, then thousands are apart', () => {
    expect(groupDigits(1_234_567)).toBe('1 234 567');
    expect(groupDigits(999)).toBe('999');
  });
});

describe('when to draw the progress line', () => {
  it('given nothing drawn yet, when asked, then it draws', () => {
    expect(shouldDraw({ lastDrawMs: null, nowMs: 0, tty: false })).toBe(true);
  });

  it('given a terminal, when 100 ms passed, then it redraws in place', () => {
    expect(shouldDraw({ lastDrawMs: 1000, nowMs: 1050, tty: true })).toBe(false);
    expect(shouldDraw({ lastDrawMs: 1000, nowMs: 1100, tty: true })).toBe(true);
    expect(drawnLine('x', true)).toBe('\rx\x1b[K');
  });

  it('given a log (no terminal), when asked, then it writes a new line every few seconds only', () => {
    expect(shouldDraw({ lastDrawMs: 1000, nowMs: 2000, tty: false })).toBe(false);
    expect(shouldDraw({ lastDrawMs: 1000, nowMs: 4000, tty: false })).toBe(true);
    expect(drawnLine('x', false)).toBe('x\n');
  });
});
