import { describe, expect, it } from 'vitest';
import { catchUpEnough } from './rebuild-projection.ts';

describe('when the rebuild stops catching up', () => {
  it('given the replay is still before the head it started from, when asked, then it goes on whatever is pending', () => {
    const enough = catchUpEnough(100, 20);
    expect(enough(50, 0 + 1)).toBe(false);
    expect(enough(99, 5)).toBe(false);
  });

  it('given the head is passed, when at most one batch is left, then it stops (the projector takes the rest)', () => {
    const enough = catchUpEnough(100, 20);
    expect(enough(100, 60)).toBe(false);
    expect(enough(130, 20)).toBe(true);
  });

  it('given the head is passed, when appends outpace the replay (pending no longer shrinks), then it stops rather than chase forever', () => {
    const enough = catchUpEnough(100, 20);
    expect(enough(110, 300)).toBe(false);
    expect(enough(130, 250)).toBe(false);
    expect(enough(150, 260)).toBe(true);
  });
});
