import { ConfigError, envNumber, envOptional } from '@happyride/platform';
import { MongoServerError, type Db } from 'mongodb';

export interface ChargeRequest {
  /** The same key always gets the same answer, without charging twice (the saga's command id). */
  idempotencyKey: string;
  paymentId: string;
  passengerId: string;
  amount: number;
}

export type ChargeResult = { outcome: 'PAID'; providerReference: string } | { outcome: 'DECLINED'; reason: string };

/** A card payment provider, as the saga's output handler sees it. */
export interface PaymentProvider {
  charge(request: ChargeRequest): Promise<ChargeResult>;
  /** Gives back a charge that could not be recorded (the payment was cancelled meanwhile). */
  refund(idempotencyKey: string): Promise<void>;
}

export interface SimulatedProviderOptions {
  /** Declines any amount at or above this. */
  declineAbove?: number;
  /** Declines these passengers' cards. */
  declinePassengers?: readonly string[];
  /** Never answers these passengers' charges (a provider that hangs: the saga's timeout path). */
  hangPassengers?: readonly string[];
  /** Answers these passengers' charges only after `slowMs` (a window to cancel while paying). */
  slowPassengers?: readonly string[];
  slowMs?: number;
  /** Where charges are remembered by idempotency key; in memory unless given. */
  ledger?: ChargeLedger;
}

/** One charge the provider answered, under its idempotency key. */
export type ChargeRecord = ChargeRequest & ChargeResult;

/**
 * The provider's own memory of charges, as a real provider keeps idempotency keys: the first
 * answer recorded under a key is the answer, forever, whoever asks again.
 */
export interface ChargeLedger {
  find(idempotencyKey: string): Promise<ChargeRecord | null>;
  /** Records `charge` unless its key is known; returns the record that stands. */
  record(charge: ChargeRecord): Promise<ChargeRecord>;
  refund(idempotencyKey: string): Promise<void>;
}

export class InMemoryChargeLedger implements ChargeLedger {
  readonly charges = new Map<string, ChargeRecord>();
  readonly refunds = new Set<string>();
  async find(key: string) {
    return this.charges.get(key) ?? null;
  }
  async record(charge: ChargeRecord) {
    const known = this.charges.get(charge.idempotencyKey);
    if (known) return known;
    this.charges.set(charge.idempotencyKey, charge);
    return charge;
  }
  async refund(key: string) {
    this.refunds.add(key);
  }
}

export const SIMULATED_CHARGES = 'simulated_provider_charges';
export const SIMULATED_REFUNDS = 'simulated_provider_refunds';

/**
 * Charges kept in MongoDB (`simulated_provider_charges`, `_id` = idempotency key): they survive
 * a crash of the saga worker, as a real provider's would, and tests count them. The unique `_id`
 * insert decides a race between two workers (FerretDB has no transactions).
 */
export class MongoChargeLedger implements ChargeLedger {
  readonly #charges;
  readonly #refunds;
  constructor(db: Db) {
    this.#charges = db.collection<ChargeRecord & { _id: string; at: Date }>(SIMULATED_CHARGES);
    this.#refunds = db.collection<{ _id: string; at: Date }>(SIMULATED_REFUNDS);
  }
  async find(key: string): Promise<ChargeRecord | null> {
    const doc = await this.#charges.findOne({ _id: key });
    if (!doc) return null;
    const { _id, at: _at, ...charge } = doc;
    return charge;
  }
  async record(charge: ChargeRecord): Promise<ChargeRecord> {
    try {
      await this.#charges.insertOne({ _id: charge.idempotencyKey, ...charge, at: new Date() });
      return charge;
    } catch (error) {
      if (!(error instanceof MongoServerError && error.code === 11000)) throw error;
      const known = await this.find(charge.idempotencyKey);
      if (!known) throw error;
      return known;
    }
  }
  async refund(key: string): Promise<void> {
    try {
      await this.#refunds.insertOne({ _id: key, at: new Date() });
    } catch (error) {
      if (!(error instanceof MongoServerError && error.code === 11000)) throw error;
    }
  }
}

const answerOf = (record: ChargeRecord): ChargeResult =>
  record.outcome === 'PAID' ? { outcome: 'PAID', providerReference: record.providerReference } : { outcome: 'DECLINED', reason: record.reason };

/**
 * A deterministic stand-in for a payment provider: declines amounts ≥ `declineAbove` and the
 * passengers listed, pays the rest. Idempotent per key, like a real provider's idempotency keys,
 * through its ledger (durable in MongoDB for the saga worker).
 */
export class SimulatedPaymentProvider implements PaymentProvider {
  /** Every charge this instance answered, by key: what a test checks to see nothing was charged twice. */
  readonly charges = new Map<string, ChargeRecord>();
  readonly refunds = new Set<string>();
  readonly #declineAbove: number;
  readonly #declinePassengers: ReadonlySet<string>;
  readonly #hangPassengers: ReadonlySet<string>;
  readonly #slowPassengers: ReadonlySet<string>;
  readonly #slowMs: number;
  readonly #ledger: ChargeLedger;

  constructor({
    declineAbove = Number.POSITIVE_INFINITY,
    declinePassengers = [],
    hangPassengers = [],
    slowPassengers = [],
    slowMs = 2_000,
    ledger = new InMemoryChargeLedger(),
  }: SimulatedProviderOptions = {}) {
    this.#declineAbove = declineAbove;
    this.#declinePassengers = new Set(declinePassengers);
    this.#hangPassengers = new Set(hangPassengers);
    this.#slowPassengers = new Set(slowPassengers);
    this.#slowMs = slowMs;
    this.#ledger = ledger;
  }

  async charge(request: ChargeRequest): Promise<ChargeResult> {
    const known = await this.#ledger.find(request.idempotencyKey);
    if (known) return answerOf(known);
    if (this.#hangPassengers.has(request.passengerId)) return new Promise<never>(() => {});
    if (this.#slowPassengers.has(request.passengerId)) await new Promise((resolve) => setTimeout(resolve, this.#slowMs));
    const result: ChargeResult = this.#declinePassengers.has(request.passengerId)
      ? { outcome: 'DECLINED', reason: 'The card was declined.' }
      : request.amount >= this.#declineAbove
        ? { outcome: 'DECLINED', reason: `The amount ${request.amount} is above the card limit.` }
        : { outcome: 'PAID', providerReference: `sim-${request.paymentId}` };
    const recorded = await this.#ledger.record({ ...request, ...result });
    this.charges.set(request.idempotencyKey, recorded);
    return answerOf(recorded);
  }

  async refund(idempotencyKey: string): Promise<void> {
    await this.#ledger.refund(idempotencyKey);
    this.refunds.add(idempotencyKey);
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
 * (never answered) and `PAYMENT_SLOW_PASSENGERS` (answered after `PAYMENT_SLOW_MS`, 2000).
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
    slowMs: envNumber(env, 'PAYMENT_SLOW_MS', 2_000, { min: 0, integer: true }),
  };
}
