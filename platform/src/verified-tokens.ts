import type { Actor } from '@happyride/domain';

export interface VerifiedTokenCacheOptions {
  /** Tokens remembered at most; beyond it the least recently used go. */
  maxTokens?: number;
  /** A token is verified again after this long even if it has not expired (a rotated key set). */
  maxAgeMs?: number;
  /**
   * Recency is kept to this: a token used again moves to the most recently used end at most
   * once per `touchEveryMs` (a Map delete and insert on every request cost more than the lookup).
   */
  touchEveryMs?: number;
  now?: () => number;
}

interface Entry {
  actor: Actor;
  /** When the entry stops counting: the token's `exp`, or `maxAgeMs` after verifying, whichever first. */
  until: number;
  /** When the entry last moved to the most recently used end. */
  touchedAt: number;
}

/** A verifier that can tell, without verifying, that a token verified before and still counts. */
export interface RememberingVerifier {
  (token: string): Promise<Actor>;
  /** The actor of a token that verified and has not expired (nor outlived `maxAgeMs`); never verifies. */
  remembered(token: string): Actor | undefined;
}

/**
 * Remembers tokens that verified, so a caller's next request with the same token costs a map
 * lookup, not a signature check (in the gateway and again in every subgraph it calls). Only
 * successes are remembered; a token is taken again from `verify` once past its `exp` (so it
 * fails as expired) or `maxAgeMs`. Bounded: at most `maxTokens` entries, least recently used out.
 * @example const verify = cachedVerifier(async (token) => ({ actor, expiresAt }))
 */
export function cachedVerifier(
  verify: (token: string) => Promise<{ actor: Actor; expiresAtMs: number }>,
  { maxTokens = 10_000, maxAgeMs = 5 * 60_000, touchEveryMs = 1_000, now = Date.now }: VerifiedTokenCacheOptions = {},
): RememberingVerifier {
  const entries = new Map<string, Entry>();
  const verifyRemembering = async (token: string): Promise<Actor> => {
    const entry = entries.get(token);
    if (entry) {
      const at = now();
      if (at < entry.until) {
        if (at - entry.touchedAt >= touchEveryMs) {
          entry.touchedAt = at;
          entries.delete(token);
          entries.set(token, entry); // most recently used last
        }
        return entry.actor;
      }
      entries.delete(token);
    }
    const { actor, expiresAtMs } = await verify(token);
    const at = now();
    entries.set(token, { actor, until: Math.min(expiresAtMs, at + maxAgeMs), touchedAt: at });
    if (entries.size > maxTokens) entries.delete(entries.keys().next().value as string);
    return actor;
  };
  return Object.assign(verifyRemembering, {
    remembered(token: string): Actor | undefined {
      const entry = entries.get(token);
      return entry && now() < entry.until ? entry.actor : undefined;
    },
  });
}
