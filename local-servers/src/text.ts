/** Small text helpers shared by the builders and the starters. */

/** Progress lines of this package, when the caller gives no `log`. */
export const defaultLog = (line: string): void => {
  process.stderr.write(`[local-servers] ${line}\n`);
};

export function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value.trim() === '' ? undefined : value.trim();
}

export function firstLine(text: string): string {
  return text.split('\n', 1)[0] ?? text;
}
