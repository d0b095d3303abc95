import type { EventStore } from '@happyride/eventstore';
import type { Logger } from '@happyride/platform';
import type { Db } from 'mongodb';
import { systemClock, type Clock } from '../runtime/clock.ts';
import { sleep } from '@happyride/eventstore';
import { settleLateCharge } from './late-charges.ts';
import type { PaymentProvider } from './provider.ts';

export const PAYMENT_RECONCILIATION = 'payment_reconciliation';

export interface ReconcilerOptions {
  db: Db;
  store: EventStore;
  provider: PaymentProvider;
  clock?: Clock;
  logger?: Logger;
  /** Charges younger than this are left to the next pass: every charge made before `now - lag` is listed by then. */
  lagMs?: number;
  /** Where a reconciliation that never ran starts. */
  firstLookBackMs?: number;
  /** A charge still pending after this long is reported and passed over (it no longer holds the cursor back). */
  givePendingUpMs?: number;
}

export interface ReconcileReport {
  checked: number;
  refunded: number;
  pending: number;
  unknown: number;
  /** Where the next pass starts. */
  cursor: Date;
}

const HOUR_MS = 3_600_000;

/**
 * The periodic reconciliation: walks the provider's charges by creation time, from a cursor kept
 * in MongoDB (`payment_reconciliation`, one document by `_id`), at most an hour a window, and
 * settles every charge that its payment's log does not hold and never will (the payment was
 * cancelled while the charge's answer was late): refunded at the provider and recorded
 * (`settleLateCharge`). The cursor moves past a window only once nothing in it is pending, so a
 * crash anywhere repeats the window: the refund key and command id, derived from the charge,
 * make a repeat a no-op. Several workers may run it at once for the same reason.
 */
export class PaymentReconciler {
  readonly #cursor;
  readonly #store: EventStore;
  readonly #provider: PaymentProvider;
  readonly #clock: Clock;
  readonly #log: Logger | undefined;
  readonly #lagMs: number;
  readonly #firstLookBackMs: number;
  readonly #givePendingUpMs: number;

  constructor({ db, store, provider, clock = systemClock, logger, lagMs = 15_000, firstLookBackMs = 24 * HOUR_MS, givePendingUpMs = 24 * HOUR_MS }: ReconcilerOptions) {
    this.#cursor = db.collection<{ _id: string; from: Date; at: Date }>(PAYMENT_RECONCILIATION);
    this.#store = store;
    this.#provider = provider;
    this.#clock = clock;
    this.#log = logger?.child({ component: 'payment-reconciliation' });
    this.#lagMs = lagMs;
    this.#firstLookBackMs = firstLookBackMs;
    this.#givePendingUpMs = givePendingUpMs;
  }

  /** One pass: every window from the cursor up to `now - lag`. */
  async reconcileOnce(): Promise<ReconcileReport> {
    const now = this.#clock.now();
    const until = new Date(now.getTime() - this.#lagMs);
    const stored = await this.#cursor.findOne({ _id: 'cursor' });
    let from = stored?.from ?? new Date(now.getTime() - this.#firstLookBackMs);
    const report: ReconcileReport = { checked: 0, refunded: 0, pending: 0, unknown: 0, cursor: from };
    while (from < until) {
      const to = new Date(Math.min(from.getTime() + HOUR_MS, until.getTime()));
      let firstPending: Date | undefined;
      for (const charge of await this.#provider.listCharges(from, to)) {
        report.checked++;
        const context = { correlationId: `reconcile-${charge.paymentId}` };
        const verdict = await settleLateCharge({ store: this.#store, provider: this.#provider, clock: this.#clock }, charge, context);
        switch (verdict.kind) {
          case 'refund':
            report.refunded++;
            this.#log?.warn({ paymentId: charge.paymentId, chargeReference: charge.chargeReference, amount: charge.amount }, 'late charge refunded');
            break;
          case 'pending':
            if (now.getTime() - charge.createdAt.getTime() > this.#givePendingUpMs) {
              this.#log?.error({ paymentId: charge.paymentId, chargeReference: charge.chargeReference }, 'charge still unrecorded after a day: passed over, settle it by hand');
            } else {
              report.pending++;
              firstPending ??= charge.createdAt;
            }
            break;
          case 'unknown':
            report.unknown++;
            this.#log?.error({ paymentId: charge.paymentId, chargeReference: charge.chargeReference, why: verdict.why }, 'charge the log cannot hold: settle it by hand');
            break;
          case 'recorded':
          case 'refunded':
            break;
          default: {
            const unreachable: never = verdict;
            throw new Error(`Unknown verdict ${JSON.stringify(unreachable)}`);
          }
        }
      }
      if (firstPending !== undefined) {
        from = firstPending;
        break;
      }
      from = to;
    }
    await this.#cursor.updateOne({ _id: 'cursor' }, { $set: { from, at: now } }, { upsert: true });
    report.cursor = from;
    return report;
  }

  /** Runs a pass every `intervalMs` until `signal` aborts; a failed pass is logged and tried again. */
  async run({ intervalMs, signal }: { intervalMs: number; signal: AbortSignal }): Promise<void> {
    while (!signal.aborted) {
      try {
        const report = await this.reconcileOnce();
        if (report.refunded + report.unknown > 0) this.#log?.info(report, 'payment reconciliation pass');
      } catch (error) {
        this.#log?.warn({ err: error }, 'payment reconciliation failed; retrying next interval');
      }
      await sleep(intervalMs, signal);
    }
  }
}
