import { ConfigError, envEnum, envNumber, envOptional, envUrl } from '@happyride/platform';
import type { Db } from 'mongodb';
import type { PaymentProvider } from './provider.ts';
import { readSimulatedProviderConfig, SimulatedPaymentProvider, type SimulatedProviderOptions } from './simulated-provider.ts';
import { StripePaymentProvider, type StripeProviderOptions } from './stripe-provider.ts';

export type PaymentProviderConfig = (
  | { kind: 'simulated'; simulated: SimulatedProviderOptions }
  | { kind: 'stripe'; stripe: StripeProviderOptions }
) & {
  /** ISO 4217, lower case. */
  currency: string;
  /** How often the reconciliation settles charges the log does not hold. */
  reconcileIntervalMs: number;
};

/**
 * `PAYMENT_PROVIDER` (`simulated` | `stripe`), `PAYMENT_CURRENCY` (`eur`),
 * `PAYMENT_RECONCILE_INTERVAL_MS` (60000); with Stripe, `STRIPE_API_KEY` (required, a test key
 * `sk_test_…` or `rk_test_…`: live keys are refused, see below; never echoed), `STRIPE_API_BASE` (another API base, e.g. stripe-mock) and
 * `STRIPE_PAYMENT_METHOD` (`pm_card_visa`).
 */
export function readPaymentProviderConfig(env: Record<string, string | undefined>): PaymentProviderConfig {
  const kind = envEnum(env, 'PAYMENT_PROVIDER', ['simulated', 'stripe'] as const, 'simulated');
  const currency = (envOptional(env, 'PAYMENT_CURRENCY') ?? 'eur').toLowerCase();
  if (!/^[a-z]{3}$/.test(currency)) throw new ConfigError(`PAYMENT_CURRENCY must be a three-letter ISO 4217 code; got ${JSON.stringify(currency)}.`);
  const reconcileIntervalMs = envNumber(env, 'PAYMENT_RECONCILE_INTERVAL_MS', 60_000, { min: 100, integer: true });
  if (kind === 'simulated') return { kind, simulated: readSimulatedProviderConfig(env), currency, reconcileIntervalMs };

  const apiKey = envOptional(env, 'STRIPE_API_KEY');
  if (apiKey === undefined) throw new ConfigError('STRIPE_API_KEY is required when PAYMENT_PROVIDER=stripe.');
  if (!/^(sk|rk)_(test|live)_[A-Za-z0-9_]+$/.test(apiKey)) throw new ConfigError('STRIPE_API_KEY must be a secret or restricted key (sk_test_…, rk_test_…); the value given is not (not shown).');
  if (/^(sk|rk)_live_/.test(apiKey)) {
    throw new ConfigError(
      'STRIPE_API_KEY is a live key (sk_live_…/rk_live_…): refused. Every passenger would be charged to the one STRIPE_PAYMENT_METHOD, and Happyride has no per-passenger payment methods yet; use a test key (sk_test_…, rk_test_…).',
    );
  }
  const apiBase = envOptional(env, 'STRIPE_API_BASE') === undefined ? undefined : new URL(envUrl(env, 'STRIPE_API_BASE', ['http', 'https']));
  const paymentMethod = envOptional(env, 'STRIPE_PAYMENT_METHOD') ?? 'pm_card_visa';
  return { kind, stripe: { apiKey, paymentMethod, ...(apiBase ? { apiBase } : {}) }, currency, reconcileIntervalMs };
}

/** The configured adapter; the simulated one keeps its ledger in `db` (its index made here). */
export async function createPaymentProvider(config: PaymentProviderConfig, db: Db, { timeoutMs }: { timeoutMs?: number } = {}): Promise<PaymentProvider> {
  if (config.kind === 'stripe') return new StripePaymentProvider({ ...config.stripe, ...(timeoutMs ? { timeoutMs } : {}) });
  const provider = new SimulatedPaymentProvider(db, config.simulated);
  await provider.ensureIndexes();
  return provider;
}
