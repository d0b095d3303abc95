import type { DeadLetter, DeadLetterStore } from './dead-letters.ts';

/** The dead-letter store in memory, for pure tests of the parking logic. */
export class InMemoryDeadLetterStore implements DeadLetterStore {
  readonly letters = new Map<string, DeadLetter>();

  async park(letters: readonly DeadLetter[]): Promise<void> {
    for (const letter of letters) if (!this.letters.has(letter._id)) this.letters.set(letter._id, letter);
  }
  async parkedKeys(consumer: string): Promise<string[]> {
    return [...new Set(this.#of(consumer).map((l) => l.key))];
  }
  async keysToRetry(consumer: string): Promise<string[]> {
    return [...new Set(this.#of(consumer).filter((l) => l.retryRequestedAt).map((l) => l.key))];
  }
  async lettersOf(consumer: string, key: string): Promise<DeadLetter[]> {
    return this.#of(consumer).filter((l) => l.key === key);
  }
  async remove(id: string): Promise<void> {
    this.letters.delete(id);
  }
  async retryFailed(consumer: string, key: string, id: string, error: string): Promise<void> {
    const letter = this.letters.get(id);
    if (letter) this.letters.set(id, { ...letter, error, reason: 'failed', attempts: letter.attempts + 1 });
    for (const l of await this.lettersOf(consumer, key)) this.letters.set(l._id, { ...l, retryRequestedAt: null });
  }
  requestRetry(consumer: string): void {
    for (const l of this.#of(consumer)) this.letters.set(l._id, { ...l, retryRequestedAt: new Date() });
  }
  #of(consumer: string): DeadLetter[] {
    return [...this.letters.values()].filter((l) => l.consumer === consumer).sort((a, b) => a.streamSequence - b.streamSequence);
  }
}
