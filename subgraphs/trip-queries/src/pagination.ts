import { invalidInput } from '@happyride/domain';

export const DEFAULT_PAGE_SIZE = 20;
export const MAX_PAGE_SIZE = 100;

/** Where a page starts: after the trip with this creation time and id (newest first). */
export interface Cursor {
  createdAt: string;
  id: string;
}

export function encodeCursor({ createdAt, id }: Cursor): string {
  return Buffer.from(JSON.stringify([createdAt, id]), 'utf8').toString('base64url');
}

export function decodeCursor(raw: string): Cursor {
  try {
    const value: unknown = JSON.parse(Buffer.from(raw, 'base64url').toString('utf8'));
    if (Array.isArray(value) && value.length === 2 && typeof value[0] === 'string' && typeof value[1] === 'string') {
      return { createdAt: value[0], id: value[1] };
    }
  } catch {
    // fall through
  }
  throw invalidInput('`after` is not a cursor this API gave out: pass a `cursor` or `endCursor` from a previous page.');
}

export function pageSize(first: number | null | undefined): number {
  const size = first ?? DEFAULT_PAGE_SIZE;
  if (!Number.isInteger(size) || size < 1 || size > MAX_PAGE_SIZE) {
    throw invalidInput(`\`first\` must be from 1 to ${MAX_PAGE_SIZE}; got ${size}.`);
  }
  return size;
}

/** The MongoDB filter for "strictly after this cursor" in (createdAt desc, _id desc) order. */
export function afterCursor(cursor: Cursor) {
  return { $or: [{ createdAt: { $lt: cursor.createdAt } }, { createdAt: cursor.createdAt, _id: { $lt: cursor.id } }] };
}
