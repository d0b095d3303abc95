/** Starting one server on a free loopback port, retried when the port was taken meanwhile. */
import { createServer } from 'node:net';
import { spawnServer, stopServer, type Managed } from './child-processes.ts';
import { ServerStartError, waitReady } from './readiness.ts';

/** Asks the OS for a free loopback port. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen({ host: '127.0.0.1', port: 0, exclusive: true }, () => {
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
