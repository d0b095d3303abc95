import { describe, expect, it } from 'vitest';
import { PartitionShare } from './partition-share.ts';

describe('a projector process share of a read model partitions', () => {
  it('given 4 partitions and 2 live projectors, when leases are sought, then this process enters at most 2', () => {
    const share = new PartitionShare(4, () => 2);
    expect([share.enter(), share.enter(), share.enter()]).toEqual([true, true, false]);
    share.leave();
    expect(share.enter()).toBe(true);
  });

  it('given a lone projector, when leases are sought, then it may take every partition', () => {
    const share = new PartitionShare(4, () => 1);
    expect([1, 2, 3, 4, 5].map(() => share.enter())).toEqual([true, true, true, true, false]);
  });

  it('given 3 partitions held alone, when a second projector becomes live, then the highest one is given up', () => {
    let live = 1;
    const share = new PartitionShare(3, () => live);
    const released: number[] = [];
    for (const index of [0, 1, 2]) {
      share.enter();
      share.hold(index, () => released.push(index));
    }
    live = 2;
    share.rebalance();
    expect(released).toEqual([2]);
    expect(share.holding()).toEqual([0, 1]);
  });

  it('given leases sought while alone, when the count of live projectors grows before the last one is won, then winning it past the share gives the highest up at once', () => {
    let live = 1;
    const share = new PartitionShare(4, () => live);
    const released: number[] = [];
    for (const index of [0, 1, 2]) {
      share.enter();
      share.hold(index, () => released.push(index));
    }
    share.enter(); // the fourth lease, sought while alone
    live = 2;
    share.hold(3, () => released.push(3));
    expect(released).toEqual([3, 2]);
    expect(share.holding()).toEqual([0, 1]);
  });
});
