import { readdirSync, readFileSync } from 'node:fs';

/**
 * The pid of the local server (nats-server, FerretDB) listening on `url`'s port, found by its
 * command line in /proc (Linux), so a test can stall it with SIGSTOP and resume it with SIGCONT.
 */
export function localServerPid(url: string): number {
  const port = new URL(url).port;
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let args: string[];
    try {
      args = readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0');
    } catch {
      continue; // gone meanwhile
    }
    const server = /(nats-server|ferretdb)$/.test(args[0] ?? '');
    if (server && args.some((arg) => arg === port || arg.endsWith(`:${port}`))) return Number(entry);
  }
  throw new Error(`no nats-server or ferretdb process listens on port ${port}`);
}
