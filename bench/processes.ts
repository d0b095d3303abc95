/**
 * What the benches read about processes from /proc: CPU time, parent, command name; and the
 * local servers (nats-server, FerretDB) a bench spawned through `startLocalServers`.
 */
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';

const clockTicks = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim());

/** A process's parent, user + system CPU time in ms and command name, or undefined once it is gone. */
export function processStat(pid: number): { ppid: number; cpuMs: number; comm: string } | undefined {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const close = text.lastIndexOf(')');
    const fields = text.slice(close + 2).split(' ');
    const ticks = Number(fields[11]) + Number(fields[12]);
    return { ppid: Number(fields[1]), cpuMs: (ticks * 1000) / clockTicks, comm: text.slice(text.indexOf('(') + 1, close) };
  } catch {
    return undefined;
  }
}

/** nats-server and FerretDB as `startLocalServers` spawned them: descendants of this process, services (`exclude`) left out. */
export function localServerPids(exclude: ReadonlySet<number> = new Set()): Map<string, number> {
  const all = readdirSync('/proc').map(Number).filter(Number.isInteger);
  const parents = new Map(all.map((pid) => [pid, processStat(pid)]));
  const descends = (pid: number): boolean => {
    for (let at = parents.get(pid)?.ppid; at !== undefined && at > 1; at = parents.get(at)?.ppid) if (at === process.pid) return true;
    return false;
  };
  const found = new Map<string, number>();
  for (const [pid, info] of parents) {
    if (!info || exclude.has(pid) || !descends(pid)) continue;
    if (info.comm.startsWith('nats-server')) found.set('nats-server', pid);
    else if (info.comm.startsWith('ferretdb')) found.set('ferretdb', pid);
  }
  return found;
}
