import { ConfigError, envNumber, envOptional, isDuplicateKey, MAJORITY_WRITES } from '@happyride/platform';
import type { Db } from 'mongodb';
import type { ChargeRequest, ChargeResult, PaymentProvider, ProviderCharge, RefundRequest } from './provider.ts';

export interface SimulatedProviderOptions {
  /** Declines any amount at or above this. */
  declineAbove?: number;
  /** Declines these passengers' cards. */
  declinePassengers?: readonly string[];
  /** Never answers these passengers' charges and never charges them (a provider that hangs: the saga's timeout path). */
  hangPassengers?: readonly string[];
  /** Charges these passengers only after `slowMs`, then answers (a window to cancel while paying). */
  slowPassengers?: readonly string[];
  /**
   * Charges these passengers at once but answers every charge call only after `slowMs` (the
   * charge that succeeded while its answer timed out); `findCharge` answers at once.
   */
  latePassengers?: readonly string[];
  slowMs?: number;
}

export const SIMULATED_CHARGES = 'simulated_provider_charges';
export const SIMULATED_REFUNDS = 'simulated_provider_refunds';

/** One answered charge in the simulated provider's ledger, `_id` = its idempotency key. */
export type SimulatedChargeDocument = Omit<ChargeRequest, 'idempotencyKey'> &
  ChargeResult & {
    _id: string;
    at: Date;
    /** `at` to the minute (`2026-11-25T21:52`): listed by `$in` on its index, which FerretDB answers from the index too. */
    minute: string;
  };

/** One refund, `_id` = its idempotency key. */
export interface SimulatedRefundDocument {
  _id: string;
  chargeReference: string;
  paymentId: string;
  amount: number;
  refundReference: string;
  at: Date;
}

const minuteOf = (at: Date) => at.toISOString().slice(0, 16);
const MINUTE_MS = 60_000;
/** At most this many minute buckets per `listCharges` (the reconciliation asks for at most an hour). */
const MAX_MINUTES = 61;


const answerOf = (doc: SimulatedChargeDocument): ChargeResult =>
  doc.outcome === 'PAID' ? { outcome: 'PAID', providerReference: doc.providerReference } : { outcome: 'DECLINED', reason: doc.reason };

/**
 * A deterministic stand-in for a payment provider: declines amounts ≥ `declineAbove` and the
 * passengers listed, pays the rest. Its ledger is in MongoDB (`simulated_provider_charges`,
 * `simulated_provider_refunds`, `_id` = the idempotency key), as a real provider keeps its own:
 * the first answer stored under a key is the answer, forever, for every process (a unique
 * `_id` insert decides a race; FerretDB has no transactions). Nothing is kept in memory, so a
 * crash of the saga worker forgets nothing and tests read the ledger from the database.
 */
export class SimulatedPaymentProvider implements PaymentProvider {
  readonly #charges;
  readonly #refunds;
  readonly #declineAbove: number;
  readonly #declinePassengers: ReadonlySet<string>;
  readonly #hangPassengers: ReadonlySet<string>;
  readonly #slowPassengers: ReadonlySet<string>;
  readonly #latePassengers: ReadonlySet<string>;
  readonly #slowMs: number;

  constructor(
    db: Db,
    { declineAbove = Number.POSITIVE_INFINITY, declinePassengers = [], hangPassengers = [], slowPassengers = [], latePassengers = [], slowMs = 2_000 }: SimulatedProviderOptions = {},
  ) {
    this.#charges = db.collection<SimulatedChargeDocument>(SIMULATED_CHARGES, MAJORITY_WRITES);
    this.#refunds = db.collection<SimulatedRefundDocument>(SIMULATED_REFUNDS, MAJORITY_WRITES);
    this.#declineAbove = declineAbove;
    this.#declinePassengers = new Set(declinePassengers);
    this.#hangPassengers = new Set(hangPassengers);
    this.#slowPassengers = new Set(slowPassengers);
    this.#latePassengers = new Set(latePassengers);
    this.#slowMs = slowMs;
  }

  async ensureIndexes(): Promise<void> {
    await this.#charges.createIndex({ minute: 1 });
  }

  async charge(request: ChargeRequest): Promise<ChargeResult> {
    const { passengerId } = request;
    const known = await this.findCharge(request.idempotencyKey);
    if (known && !this.#latePassengers.has(passengerId)) return known;
    if (this.#hangPassengers.has(passengerId)) return new Promise<never>(() => {});
    if (this.#slowPassengers.has(passengerId)) await this.#wait();
    const answer = known ?? (await this.#record(request));
    if (this.#latePassengers.has(passengerId)) await this.#wait();
    return answer;
  }

  async findCharge(idempotencyKey: string): Promise<ChargeResult | null> {
    const doc = await this.#charges.findOne({ _id: idempotencyKey });
    return doc ? answerOf(doc) : null;
  }

  async refund({ idempotencyKey, chargeReference, amount }: RefundRequest): Promise<{ refundReference: string }> {
    const known = await this.#refunds.findOne({ _id: idempotencyKey });
    if (known) return { refundReference: known.refundReference };
    // The charge reference is `sim-<key>`, the key is the document's _id.
    const charge = chargeReference.startsWith('sim-') ? await this.#charges.findOne({ _id: chargeReference.slice(4) }) : null;
    if (!charge || charge.outcome !== 'PAID' || charge.providerReference !== chargeReference) {
      throw new Error(`The simulated provider has no charge ${chargeReference} to refund.`);
    }
    if (amount > charge.amount) throw new Error(`Refund of ${amount} exceeds charge ${chargeReference} of ${charge.amount}.`);
    const doc: SimulatedRefundDocument = { _id: idempotencyKey, chargeReference, paymentId: charge.paymentId, amount, refundReference: `sim-re-${idempotencyKey}`, at: new Date() };
    try {
      await this.#refunds.insertOne(doc);
      return { refundReference: doc.refundReference };
    } catch (error) {
      if (!isDuplicateKey(error)) throw error;
      const raced = await this.#refunds.findOne({ _id: idempotencyKey });
      if (!raced) throw error;
      return { refundReference: raced.refundReference };
    }
  }

  async listCharges(from: Date, to: Date): Promise<ProviderCharge[]> {
    const minutes: string[] = [];
    for (let at = Math.floor(from.getTime() / MINUTE_MS) * MINUTE_MS; at < to.getTime() && minutes.length < MAX_MINUTES; at += MINUTE_MS) {
      minutes.push(minuteOf(new Date(at)));
    }
    const docs = minutes.length === 0 ? [] : await this.#charges.find({ minute: { $in: minutes } }).toArray();
    return docs
      .filter((doc) => doc.outcome === 'PAID' && doc.at >= from && doc.at < to)
      .sort((a, b) => a.at.getTime() - b.at.getTime())
      .map((doc) => ({
        idempotencyKey: doc._id,
        paymentId: doc.paymentId,
        chargeReference: doc.outcome === 'PAID' ? doc.providerReference : '',
        amount: doc.amount,
        createdAt: doc.at,
      }));
  }

  async #record(request: ChargeRequest): Promise<ChargeResult> {
    const { idempotencyKey, paymentId, passengerId, amount, currency } = request;
    const result: ChargeResult = this.#declinePassengers.has(passengerId)
      ? { outcome: 'DECLINED', reason: 'The card was declined.' }
      : amount >= this.#declineAbove
        ? { outcome: 'DECLINED', reason: `The amount ${amount} is above the card limit.` }
        : { outcome: 'PAID', providerReference: `sim-${idempotencyKey}` };
    const at = new Date();
    try {
      await this.#charges.insertOne({ _id: idempotencyKey, paymentId, passengerId, amount, currency, ...result, at, minute: minuteOf(at) });
      return result;
    } catch (error) {
      if (!isDuplicateKey(error)) throw error;
      const known = await this.findCharge(idempotencyKey);
      if (!known) throw error;
      return known;
    }
  }

  #wait(): Promise<void> {
    return new Promise((resolve) => setTimeout(resolve, this.#slowMs));
  }
}

const idList = (env: Record<string, string | undefined>, name: string) =>
  (envOptional(env, name) ?? '')
    .split(',')
    .map((id) => id.trim())
    .filter((id) => id.length > 0);

/**
 * `PAYMENT_DECLINE_ABOVE` (an amount) and `PAYMENT_DECLINE_PASSENGERS` (comma-separated ids);
 * for tests and demos of the timeout and cancel-while-paying paths, `PAYMENT_HANG_PASSENGERS`
 * (never answered), `PAYMENT_SLOW_PASSENGERS` (charged and answered after `PAYMENT_SLOW_MS`,
 * 2000) and `PAYMENT_LATE_PASSENGERS` (charged at once, answered after `PAYMENT_SLOW_MS`).
 */
export function readSimulatedProviderConfig(env: Record<string, string | undefined>): SimulatedProviderOptions {
  const rawAbove = envOptional(env, 'PAYMENT_DECLINE_ABOVE');
  const declineAbove = rawAbove === undefined ? undefined : Number(rawAbove);
  if (declineAbove !== undefined && (!Number.isFinite(declineAbove) || declineAbove < 0)) {
    throw new ConfigError(`PAYMENT_DECLINE_ABOVE must be a non-negative number; got ${JSON.stringify(rawAbove)}.`);
  }
  return {
    ...(declineAbove === undefined ? {} : { declineAbove }),
    declinePassengers: idList(env, 'PAYMENT_DECLINE_PASSENGERS'),
    hangPassengers: idList(env, 'PAYMENT_HANG_PASSENGERS'),
    slowPassengers: idList(env, 'PAYMENT_SLOW_PASSENGERS'),
    latePassengers: idList(env, 'PAYMENT_LATE_PASSENGERS'),
    slowMs: envNumber(env, 'PAYMENT_SLOW_MS', 2_000, { min: 0, integer: true }),
  };
}
