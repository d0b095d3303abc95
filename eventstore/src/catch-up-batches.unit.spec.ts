import { describe, expect, it } from 'vitest';
import { batchLimit, catchUpSizes, handOver } from './catch-up-batches.ts';

const sizes = { atHead: 500, behind: 5000 };

describe('batch sizes: small at the head, large while far behind', () => {
  it('given a reader at the head, when a commit arrives alone, then it is handed over at once', () => {
    expect(handOver({ inHand: 1, buffered: 0, onServer: 0 }, sizes)).toBe(true);
    expect(batchLimit({ inHand: 1, buffered: 0, onServer: 0 }, sizes)).toBe(500);
  });

  it('given a burst at the head, when more is buffered, then the batch grows up to the head size only', () => {
    expect(handOver({ inHand: 100, buffered: 50, onServer: 0 }, sizes)).toBe(false);
    expect(handOver({ inHand: 150, buffered: 0, onServer: 0 }, sizes)).toBe(true);
    expect(handOver({ inHand: 500, buffered: 0, onServer: 0 }, sizes)).toBe(true);
  });

  it('given a reader far behind, when the buffer runs dry, then it waits for the server instead of handing over a small batch', () => {
    expect(batchLimit({ inHand: 800, buffered: 0, onServer: 40_000 }, sizes)).toBe(5000);
    expect(handOver({ inHand: 800, buffered: 0, onServer: 40_000 }, sizes)).toBe(false);
    expect(handOver({ inHand: 800, buffered: 200, onServer: 40_000 }, sizes)).toBe(false);
    expect(handOver({ inHand: 5000, buffered: 900, onServer: 40_000 }, sizes)).toBe(true);
  });

  it('given the last of a catch-up, when the server has nothing more, then the batch is handed over whatever its size, and the next one is a head batch', () => {
    expect(handOver({ inHand: 3200, buffered: 0, onServer: 0 }, sizes)).toBe(true);
    expect(handOver({ inHand: 3200, buffered: 40, onServer: 0 }, sizes)).toBe(false);
    expect(batchLimit({ inHand: 1, buffered: 3, onServer: 0 }, sizes)).toBe(500);
  });

  it('given a consumer that lets fewer deliveries be unacknowledged, when sized, then no batch waits for more than it can get', () => {
    expect(catchUpSizes(500, 5000, 1000)).toEqual({ atHead: 500, behind: 1000 });
    expect(catchUpSizes(500, 5000, -1)).toEqual({ atHead: 500, behind: 5000 });
    expect(catchUpSizes(500, 100, undefined)).toEqual({ atHead: 500, behind: 500 });
    expect(catchUpSizes(500, 5000, 200)).toEqual({ atHead: 200, behind: 200 });
  });
});
