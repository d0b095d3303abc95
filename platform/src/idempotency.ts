import { DomainError, invalidInput, type Actor, type DomainErrorKind } from '@happyride/domain';
import { IdempotencyKeyLimitError, IdempotencyStoreFullError, type IdempotencyKeys, type IdempotencyRecord } from '@happyride/eventstore';
import { GraphQLError } from 'graphql';
import { createHash, randomUUID } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { graphQLError, serviceUnavailable } from './graphql-errors.ts';
import { requireActor } from './request-identity.ts';

/** The request header of a retry-safe mutation (API.md, Retries). */
export const IDEMPOTENCY_KEY_HEADER = 'idempotency-key';
export const MAX_IDEMPOTENCY_KEY_LENGTH = 100;

/** The header as sent (validated when a mutation uses it), or undefined when absent. */
export function idempotencyKeyHeader(headers: IncomingHttpHeaders): string | undefined {
  const raw = headers[IDEMPOTENCY_KEY_HEADER];
  return Array.isArray(raw) ? raw.join(', ') : raw;
}

/** 1 to 100 characters (code points), anything else is invalid input. */
export function validIdempotencyKey(raw: string): string {
  const length = [...raw].length;
  if (length === 0 || length > MAX_IDEMPOTENCY_KEY_LENGTH) {
    throw invalidInput(`The Idempotency-Key header must be 1 to ${MAX_IDEMPOTENCY_KEY_LENGTH} characters; got ${length}.`);
  }
  return raw;
}

/** JSON with object keys sorted and undefined members left out: equal inputs give equal text. */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  const members = Object.entries(value as Record<string, unknown>)
    .filter(([, member]) => member !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([key, member]) => `${JSON.stringify(key)}:${canonicalJson(member)}`);
  return `{${members.join(',')}}`;
}

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

/** What "the same input" means for a key: the mutation's name and its canonical arguments. */
export const inputFingerprint = (mutation: string, input: unknown): string => sha256(`${mutation}\n${canonicalJson(input)}`);

/** A caller's key, scoped to them (role and id): one caller can never replay another's. */
export const keyScope = (actor: Actor, key: string): string => sha256(`${actor.role}:${actor.id}\n${key}`);

/** The caller alone (role and id), hashed: whose key count a new key is counted in. */
export const callerScope = (actor: Actor): string => sha256(`${actor.role}:${actor.id}`);

/** A UUID-shaped id derived from a key's scope: the same key always lands on the same ids. */
export function derivedId(scope: string, ...parts: string[]): string {
  const hex = sha256([scope, ...parts].join('\n'));
  const variant = ((parseInt(hex[16] ?? '0', 16) & 0x3) | 0x8).toString(16);
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-5${hex.slice(13, 16)}-${variant}${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}

/** The ids one mutation uses: its command id, and `derive(part)` for any other id it needs. */
export interface CommandIds {
  commandId: string;
  derive(part: string): string;
}

export interface IdempotencyContext {
  actor: Actor | null;
  /** The `Idempotency-Key` header, as sent. */
  idempotencyKey?: string | undefined;
  idempotency: IdempotencyKeys;
  now: () => Date;
}

const randomIds = (): CommandIds => ({ commandId: randomUUID(), derive: () => randomUUID() });

/**
 * Runs a mutation so that a retry under the same `Idempotency-Key` is exact. Without a key:
 * random ids, as before. With one: the key is claimed for this caller (create-if-absent,
 * recording the mutation's fingerprint; a key new to the caller counts against their quota,
 * `RATE_LIMITED` past it), and the command id (and any id the mutation generates, e.g. the trip
 * id) are derived from the key AND the fingerprint, so every attempt with the same input lands
 * on the same command and another input never can. A key used with another mutation or input
 * is `CONFLICT` while its fingerprint is remembered (the retention, beyond the outcome's TTL);
 * a key whose first attempt finished answers its recorded payload or domain error without
 * running anything. A key claimed by an attempt that died before it finished (or whose outcome
 * expired) runs again with the same ids: the event store answers a command id already in the
 * log from the log, so it is appended once at most.
 */
export async function idempotent<T>(ctx: IdempotencyContext, mutation: string, input: unknown, run: (ids: CommandIds) => Promise<T>): Promise<T> {
  const actor = requireActor(ctx.actor);
  if (ctx.idempotencyKey === undefined) return run(randomIds());
  const scope = keyScope(actor, validIdempotencyKey(ctx.idempotencyKey));
  const fingerprint = inputFingerprint(mutation, input);
  const fresh: IdempotencyRecord = { fingerprint, mutation, firstSeenAt: ctx.now().toISOString() };
  const { record, revision } = await claim(ctx.idempotency, scope, fresh, callerScope(actor));
  if (record.fingerprint !== fingerprint) {
    throw graphQLError('CONFLICT', `This Idempotency-Key was already used for ${record.mutation} with another input: use a new key for a new request.`);
  }
  const { outcome } = record;
  if (outcome?.status === 'done') return outcome.payload as T;
  if (outcome?.status === 'refused') throw new DomainError(outcome.kind as DomainErrorKind, outcome.message);
  const ids = { commandId: derivedId(scope, fingerprint), derive: (part: string) => derivedId(scope, fingerprint, part) };
  let payload: T;
  try {
    payload = await run(ids);
  } catch (error) {
    // A broken rule is what the first attempt decided; anything else (a conflict to retry, an outage) is not.
    if (error instanceof DomainError) await ctx.idempotency.settle(scope, revision, { ...record, outcome: { status: 'refused', kind: error.kind, message: error.message } });
    throw error;
  }
  await ctx.idempotency.settle(scope, revision, { ...record, outcome: { status: 'done', payload } });
  return payload;
}

/** A claim, with the store's bounds as coded errors: the request is refused, never run without its key. */
async function claim(keys: IdempotencyKeys, scope: string, record: IdempotencyRecord, caller: string) {
  try {
    return await keys.claim(scope, record, caller);
  } catch (error) {
    if (error instanceof IdempotencyKeyLimitError) {
      const retryAfterSeconds = Math.ceil(error.retryAfterMs / 1000);
      throw new GraphQLError(error.message, { extensions: { code: 'RATE_LIMITED', reason: 'IDEMPOTENCY_KEY_LIMIT', retryAfterSeconds } });
    }
    if (error instanceof IdempotencyStoreFullError) {
      throw serviceUnavailable('The Idempotency-Key store is full: send the request again shortly, or without an Idempotency-Key.');
    }
    throw error;
  }
}
