/** Finding `go` and the environment our Go builds run with. */
import { delimiter, join } from 'node:path';
import { isExecutable } from './build-cache.ts';

export function goEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  return {
    ...process.env,
    // Pure Go (modernc SQLite): static binaries, no C toolchain needed.
    CGO_ENABLED: '0',
    // The ferretdb module must not be pulled into some outer go.work.
    GOWORK: 'off',
    ...extra,
  };
}

export async function findGo(): Promise<string | undefined> {
  const dirs = [...(process.env['PATH'] ?? '').split(delimiter), '/usr/local/go/bin', '/usr/lib/go/bin'];
  for (const dir of dirs) {
    if (dir === '') continue;
    const candidate = join(dir, 'go');
    if (await isExecutable(candidate)) return candidate;
  }
  return undefined;
}
