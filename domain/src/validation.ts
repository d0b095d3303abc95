import { invalidInput } from './errors.ts';

export const MAX_NAME_LENGTH = 100;

// C0 and C1 control characters, DEL, and the line/paragraph separators.
// eslint-disable-next-line no-control-regex
const CONTROL_CHARACTERS = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/;

/**
 * A person's display name: trimmed, 1 to 100 characters, no control characters.
 * @example validName('  Ada Lovelace ', 'name') // → 'Ada Lovelace'
 */
export function validName(raw: string, field: string): string {
  const name = raw.trim();
  if (name.length === 0) throw invalidInput(`${field} must not be empty.`);
  if ([...name].length > MAX_NAME_LENGTH) {
    throw invalidInput(`${field} must be at most ${MAX_NAME_LENGTH} characters.`);
  }
  if (CONTROL_CHARACTERS.test(name)) {
    throw invalidInput(`${field} must not contain control characters (tabs, newlines, ...).`);
  }
  return name;
}

const ID_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;

/** Aggregate ids travel in NATS subjects: letters, digits, `_` and `-` only, at most 64. */
export function validId(raw: string, field: string): string {
  if (!ID_PATTERN.test(raw)) {
    throw invalidInput(`${field} must be 1 to 64 letters, digits, '_' or '-'; got ${JSON.stringify(raw.slice(0, 80))}.`);
  }
  return raw;
}

export function isValidId(raw: string): boolean {
  return ID_PATTERN.test(raw);
}
