import type { Actor } from '@happyride/domain';
import { InvalidTokenError, KeySetUnavailableError, type TokenVerifier } from '@happyride/platform';
import type { RateLimiter } from './rate-limit.ts';

/** What became of a bearer token at the door (HTTP or `connection_init`). */
export type Admission =
  | { kind: 'verified'; actor: Actor }
  /** It failed verification while its address had failed-token budget left: 401 / 4403. */
  | { kind: 'invalid'; error: InvalidTokenError }
  /** It failed verification and its address has spent that budget: 429 / 1013. */
  | { kind: 'flooding'; retryAfterSeconds: number }
  /** The key set could not be fetched: not the caller's fault (503 / 1013), no budget spent. */
  | { kind: 'unavailable'; error: KeySetUnavailableError };

/**
 * Admits bearer tokens so that floods hit the flooder. A token this process has verified and
 * still remembers is admitted on a lookup and never touches its address's failed-token budget
 * (forged tokens from the same office, NAT or balancer cannot lock its users out). Any other
 * token takes one from that budget and is verified; the budget is given back when it verifies
 * (or the key set is down), so only failures spend it, and concurrent forged tokens cannot all
 * count as first failures. Once an address has spent it, its tokens are still verified
 * (a user signing in for the first time behind the flooder's address is served) but a failure
 * is answered `flooding` rather than `invalid`. A flood so costs a signature check per request.
 * @example const admit = tokenAdmission({ verify, limiter }); await admit(token, '203.0.113.9') // → { kind: 'verified', actor }
 */
export function tokenAdmission({ verify, limiter, now = Date.now }: { verify: TokenVerifier; limiter: RateLimiter; now?: () => number }) {
  return async (token: string, ip: string): Promise<Admission> => {
    const known = verify.remembered?.(token);
    if (known) return { kind: 'verified', actor: known };
    const budget = `bad-token:${ip}`;
    const reserved = limiter.take(budget, now());
    const giveBack = () => {
      if (reserved.allowed) limiter.refund(budget, now());
    };
    try {
      const actor = await verify(token);
      giveBack();
      return { kind: 'verified', actor };
    } catch (error) {
      if (error instanceof InvalidTokenError) return reserved.allowed ? { kind: 'invalid', error } : { kind: 'flooding', retryAfterSeconds: reserved.retryAfterSeconds };
      giveBack();
      if (error instanceof KeySetUnavailableError) return { kind: 'unavailable', error };
      throw error;
    }
  };
}

export type TokenAdmission = ReturnType<typeof tokenAdmission>;
