import type { LeaseSlots } from '@happyride/eventstore';

/**
 * How many of a read model's partitions this process may hold: `ceil(partitions / live
 * projectors)`, so no process grabs every partition while others are live, and a lone
 * survivor takes them all. A gate for the partition leases (`LeaseSlots`): a lease is sought
 * only while the share is not full. When more projectors become live, `rebalance()` gives up
 * the surplus (the highest partitions), for the newcomers to take.
 */
export class PartitionShare implements LeaseSlots {
  private taken = 0;
  private readonly held = new Map<number, () => void>();

  constructor(
    private readonly partitions: number,
    private readonly liveProjectors: () => number,
  ) {}

  quota(): number {
    return Math.ceil(this.partitions / Math.max(1, this.liveProjectors()));
  }

  enter(): boolean {
    if (this.taken >= this.quota()) return false;
    this.taken++;
    return true;
  }

  leave(): void {
    this.taken = Math.max(0, this.taken - 1);
  }

  /** A partition now worked on; `release` stops its work (its lease is then given up). Returns the undo. */
  hold(index: number, release: () => void): () => void {
    this.held.set(index, release);
    // Acquired past the share (the count of live projectors grew while it was being sought).
    this.rebalance();
    return () => void this.held.delete(index);
  }

  /** The partitions held now, ascending. */
  holding(): number[] {
    return [...this.held.keys()].sort((a, b) => a - b);
  }

  /** Gives up the partitions beyond the quota, highest first. */
  rebalance(): void {
    const surplus = this.held.size - this.quota();
    for (const index of this.holding().reverse().slice(0, Math.max(0, surplus))) {
      this.held.get(index)?.();
      this.held.delete(index);
    }
  }
}
