import { invalidInput, isValidId } from '@happyride/domain';
import { TRIP_PAGE } from '@happyride/platform/list-sizes';

export const DEFAULT_PAGE_SIZE = TRIP_PAGE.default;
export const MAX_PAGE_SIZE = TRIP_PAGE.max;

/** Where a page starts: after the trip with this creation time and id (newest first). */
export interface Cursor {
  createdAt: string;
  id: string;
}

const CREATED_AT = /^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:.]+Z$/;

export function encodeCursor({ createdAt, id }: Cursor): string {
  return Buffer.from(JSON.stringify([createdAt, id]), 'utf8').toString('base64url');
}

export function decodeCursor(raw: string): Cursor {
  try {
    const value: unknown = JSON.parse(Buffer.from(raw, 'base64url').toString('utf8'));
    // Only what this API gives out: an ISO-8601 time and a trip id (what the pages' ordered-keys comment promises FerretDB).
    if (Array.isArray(value) && value.length === 2 && typeof value[0] === 'string' && CREATED_AT.test(value[0]) && typeof value[1] === 'string' && isValidId(value[1])) {
      return { createdAt: value[0], id: value[1] };
    }
  } catch {
    // fall through
  }
  throw invalidInput('`after` is not a cursor this API gave out: pass a `cursor` or `endCursor` from a previous page.');
}

export function pageSize(first: number | null | undefined): number {
  const size = first ?? DEFAULT_PAGE_SIZE;
  if (!Number.isInteger(size) || size < TRIP_PAGE.min || size > MAX_PAGE_SIZE) {
    throw invalidInput(`\`first\` must be from ${TRIP_PAGE.min} to ${MAX_PAGE_SIZE}; got ${size}.`);
  }
  return size;
}

/**
 * The MongoDB filter for "strictly after this cursor" in (createdAt desc, _id desc) order. The
 * `$lte` adds nothing to what matches but gives the index a range to start from.
 */
export function afterCursor(cursor: Cursor) {
  return { createdAt: { $lte: cursor.createdAt }, $or: [{ createdAt: { $lt: cursor.createdAt } }, { createdAt: cursor.createdAt, _id: { $lt: cursor.id } }] };
}

/**
 * The find comment of a page: the promise that lets the embedded FerretDB run the filter, the
 * sort and the limit in SQLite, from an index (local-servers/src/ferretdb-patches.ts): the
 * fields a page sorts or filters on hold plain strings (or null) in every trip, never arrays; ISO
 * times, ids, states. MongoDB just logs it.
 */
export const ORDERED_KEYS_COMMENT = 'happyride:ordered-keys';
