import type { Nats } from '@happyride/eventstore';
import type { NoticeSource } from './live-feeds.ts';

type OnNotice = (notice: unknown) => void;

/**
 * The gateway's notices, one core-NATS subscription per subject pattern for the whole process
 * (`updates.trip.*`, `updates.offers.*`), routed in memory to the feeds listening on each
 * subject: a feed costs a map entry, not a NATS subscription and a flush round trip. A notice
 * nobody here follows is dropped unparsed. The patterns are subscribed (and flushed) once, so a
 * feed listening after `ready` hears every notice published from then on.
 * @example const router = new NoticeRouter(nats, [tripUpdatedSubject('*'), dispatchOfferSubject('*')]);
 */
export class NoticeRouter implements NoticeSource {
  /** Subject → its listener, or its listeners when several feeds follow one subject. */
  readonly #routes = new Map<string, OnNotice | OnNotice[]>();
  readonly #unsubscribe: Array<() => void> = [];
  /** Settles once nats-server has the subscriptions (a flush round trip after the SUBs). */
  #subscribed: Promise<void> | undefined;

  constructor(
    private readonly nats: Nats,
    patterns: readonly string[],
  ) {
    for (const pattern of patterns) {
      const subscription = nats.connection.subscribe(pattern, {
        callback: (error, message) => {
          if (!error) this.#route(message.subject, () => message.json<unknown>());
        },
      });
      this.#unsubscribe.push(() => subscription.unsubscribe());
    }
  }

  /** Subjects followed now (for tests and `/metrics`). */
  get subjects(): number {
    return this.#routes.size;
  }

  /** Resolves once a notice published on `subject` from now on reaches `onNotice`. */
  async listen(subject: string, onNotice: OnNotice): Promise<() => void> {
    await this.#flushedOnce();
    const existing = this.#routes.get(subject);
    this.#routes.set(subject, existing === undefined ? onNotice : Array.isArray(existing) ? [...existing, onNotice] : [existing, onNotice]);
    return () => this.#remove(subject, onNotice);
  }

  stop(): void {
    for (const unsubscribe of this.#unsubscribe.splice(0)) unsubscribe();
    this.#routes.clear();
  }

  /** One flush for the process; a failed one (NATS away at start) is tried again by the next listener. */
  #flushedOnce(): Promise<void> {
    this.#subscribed ??= this.nats.connection.flush().catch((error: unknown) => {
      this.#subscribed = undefined;
      throw error;
    });
    return this.#subscribed;
  }

  #route(subject: string, parse: () => unknown): void {
    const listeners = this.#routes.get(subject);
    if (listeners === undefined) return;
    let notice: unknown;
    try {
      notice = parse();
    } catch {
      return; // a notice is only a hint: a garbled one is ignored
    }
    if (Array.isArray(listeners)) for (const listener of listeners) listener(notice);
    else listeners(notice);
  }

  #remove(subject: string, onNotice: OnNotice): void {
    const existing = this.#routes.get(subject);
    if (existing === onNotice) this.#routes.delete(subject);
    else if (Array.isArray(existing)) {
      const rest = existing.filter((listener) => listener !== onNotice);
      this.#routes.set(subject, rest.length === 1 ? rest[0]! : rest);
    }
  }
}
