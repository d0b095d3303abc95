/** Starting one server on a free loopback port, retried when the port was taken meanwhile. */
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { spawnServer, stopServer, type Managed } from './child-processes.ts';
import { ServerStartError, waitReady } from './readiness.ts';

/**
 * A free loopback port for a server to listen on, picked BELOW the kernel's ephemeral range: a
 * port handed out by `listen(0)` comes from that range, where any outgoing connection (a client
 * to NATS, to FerretDB) may take it as its local port before the server binds it. Below the range
 * only another picker can take it; that is checked by binding it once, and `startServer` retries.
 */
export async function freePort(): Promise<number> {
  const [low] = ephemeralRange();
  const below = { from: 10_000, to: low - 1 };
  for (let attempt = 0; attempt < 20 && below.to > below.from; attempt++) {
    const port = below.from + Math.floor(Math.random() * (below.to - below.from + 1));
    if (await canListen(port)) return port;
  }
  return listenOnce(0);
}

/** The kernel's ephemeral port range (Linux), or the IANA one elsewhere. */
function ephemeralRange(): [number, number] {
  try {
    const [low, high] = readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/).map(Number);
    if (low !== undefined && high !== undefined && Number.isInteger(low) && Number.isInteger(high)) return [low, high];
  } catch {
    // not Linux
  }
  return [49_152, 65_535];
}

const canListen = (port: number) => listenOnce(port).then(() => true, () => false);

/** Binds `port` on loopback (0: any), closes it, and answers the port bound. */
function listenOnce(port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen({ host: '127.0.0.1', port, exclusive: true }, () => {
      const address = server.address();
      server.close(() => {
        if (address !== null && typeof address === 'object') resolve(address.port);
        else reject(new Error('could not read the port of a probe listener'));
      });
    });
  });
}

/** Spawns and waits for readiness; retries with a new port if the picked one was taken meanwhile. */
export async function startServer(
  name: string,
  launch: (port: number) => { command: string; args: string[]; url: string; probe: () => Promise<void>; logFile?: string },
  timeoutMs: number,
  log: (line: string) => void,
): Promise<{ server: Managed; url: string }> {
  for (let attempt = 1; ; attempt++) {
    const port = await freePort();
    const spec = launch(port);
    const started = Date.now();
    const server = await spawnServer(name, spec.command, spec.args, spec.logFile === undefined ? {} : { logFile: spec.logFile });
    try {
      await waitReady(server, spec.probe, timeoutMs);
      log(`${name} ready at ${withoutPassword(spec.url)} in ${Date.now() - started} ms`);
      return { server, url: spec.url };
    } catch (err) {
      await stopServer(server);
      if (err instanceof ServerStartError && err.portInUse && attempt < 3) continue;
      throw err;
    }
  }
}

/** `nats://user:***@host:port`: a URL fit for a progress line. */
function withoutPassword(url: string): string {
  const parsed = URL.canParse(url) ? new URL(url) : undefined;
  if (!parsed?.password) return url;
  parsed.password = '***';
  return parsed.toString();
}
