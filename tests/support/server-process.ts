import { readdirSync, readFileSync, readlinkSync } from 'node:fs';

/**
 * The pid of the process listening on `url`'s TCP port (a local nats-server or FerretDB), found
 * through /proc (Linux): the listening socket's inode in /proc/net/tcp*, then the process holding
 * it. A test stalls that server with SIGSTOP and resumes it with SIGCONT.
 */
export function listeningPid(url: string): number {
  const port = Number(new URL(url).port);
  const inodes = new Set<string>();
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let rows: string[];
    try {
      rows = readFileSync(table, 'utf8').split('\n').slice(1);
    } catch {
      continue;
    }
    for (const row of rows) {
      const [, local, , state, , , , , , inode] = row.trim().split(/\s+/);
      if (state === '0A' && local && Number.parseInt(local.split(':')[1] ?? '', 16) === port && inode) inodes.add(inode);
    }
  }
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let fds: string[];
    try {
      fds = readdirSync(`/proc/${entry}/fd`);
    } catch {
      continue; // gone meanwhile, or not ours to read
    }
    for (const fd of fds) {
      try {
        const target = readlinkSync(`/proc/${entry}/fd/${fd}`);
        if (target.startsWith('socket:[') && inodes.has(target.slice(8, -1))) return Number(entry);
      } catch {
        // closed meanwhile
      }
    }
  }
  throw new Error(`no process listens on port ${port}`);
}

/**
 * Stalls a process with SIGSTOP and returns once every one of its threads has stopped (state
 * `T` in /proc): `kill` returns before a thread running on another core has stopped, and such a
 * thread could still answer a request sent right after. Fails after `timeoutMs`.
 */
export async function stallProcess(pid: number, timeoutMs = 5_000): Promise<void> {
  process.kill(pid, 'SIGSTOP');
  const deadline = Date.now() + timeoutMs;
  const stateOf = (task: string) => readFileSync(`/proc/${pid}/task/${task}/stat`, 'utf8').split(') ')[1]?.[0];
  while (!readdirSync(`/proc/${pid}/task`).every((task) => stateOf(task) === 'T')) {
    if (Date.now() > deadline) throw new Error(`process ${pid} did not stop within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}
