/**
 * Starts the whole system as real processes: every subgraph, the projector and the gateway,
 * each in its own Node process, wired to one NATS and one MongoDB-wire server. Used by
 * `npm start` and by the end-to-end tests (which pick free ports).
 */
import { bootstrapEventLog, connectNats } from '@happyride/eventstore';
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import { subgraphs } from '../schema/subgraphs.ts';

const repoRoot = fileURLToPath(new URL('../', import.meta.url));


export interface ServiceDefinition {
  name: string;
  entry: string;
  /** Environment variable with its HTTP port; services with one are ready when `/ready` answers 200. */
  portEnv?: string;
  defaultPort?: number;
  /** For services without HTTP: ready once a log line's `msg` equals this. */
  readyMessage?: string;
  /** A second, admin-only listener (the gateway's `/metrics`): its port variable and default; its URL is `urls['<name>-metrics']`. */
  metricsPortEnv?: string;
  defaultMetricsPort?: number;
}

export const allServices: readonly ServiceDefinition[] = [
  ...subgraphs.map((entry) => ({
    name: entry.name,
    entry: `subgraphs/${entry.name}/src/main.ts`,
    portEnv: `${entry.envPrefix}_PORT`,
    defaultPort: entry.defaultPort,
  })),
  { name: 'projector', entry: 'projections/src/main.ts', portEnv: 'PROJECTOR_METRICS_PORT', defaultPort: 9464 },
  { name: 'saga-worker', entry: 'sagas/src/main.ts', portEnv: 'SAGA_WORKER_METRICS_PORT', defaultPort: 9465 },
  { name: 'gateway', entry: 'gateway/src/main.ts', portEnv: 'GATEWAY_PORT', defaultPort: 4000, metricsPortEnv: 'GATEWAY_METRICS_PORT', defaultMetricsPort: 9466 },
];

export interface SystemOptions {
  natsUrl: string;
  mongoUrl: string;
  /** 'default' uses 4000-4002 (or the *_PORT variables); 'free' picks free loopback ports. */
  ports?: 'default' | 'free';
  env?: Record<string, string>;
  /** Every line a service prints, with its name. */
  onLine?: (service: string, line: string) => void;
  readyTimeoutMs?: number;
  /** Services not to start (e.g. the saga worker, to drive trips by hand in a test). */
  without?: readonly string[];
}

export interface RunningSystem {
  gatewayUrl: string;
  urls: Record<string, string>;
  /** Sends a signal to one service (SIGKILL to simulate a crash) and waits for it to exit. */
  kill(name: string, signal?: NodeJS.Signals): Promise<void>;
  /** Starts one service again (after `kill`) and waits until it is ready. */
  restart(name: string): Promise<void>;
  stop(): Promise<void>;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

export async function startSystem(options: SystemOptions): Promise<RunningSystem> {
  const services = allServices.filter((service) => !options.without?.includes(service.name));
  const nats = await connectNats(options.natsUrl, 'bootstrap');
  await bootstrapEventLog(nats.jsm);
  await nats.close();

  // Free ports, each one different: the kernel may hand out a port it just released again.
  const taken = new Set<number>();
  const pick = async (variable: string, fallback: number | undefined): Promise<number> => {
    if (options.ports !== 'free') return Number(process.env[variable] ?? fallback);
    for (;;) {
      const port = await freePort();
      if (taken.has(port)) continue;
      taken.add(port);
      return port;
    }
  };
  const ports: Record<string, number> = {};
  for (const service of services) if (service.portEnv) ports[service.name] = await pick(service.portEnv, service.defaultPort);
  const metricsPorts: Record<string, number> = {};
  for (const service of services) {
    if (service.metricsPortEnv) metricsPorts[service.name] = await pick(service.metricsPortEnv, service.defaultMetricsPort);
  }
  const env: Record<string, string> = {
    ...(process.env as Record<string, string>),
    NATS_URL: options.natsUrl,
    MONGODB_URL: options.mongoUrl,
    APOLLO_TELEMETRY_DISABLED: '1',
    ...options.env,
  };
  for (const service of services) if (service.portEnv) env[service.portEnv] = String(ports[service.name]);
  for (const service of services) if (service.metricsPortEnv) env[service.metricsPortEnv] = String(metricsPorts[service.name]);
  for (const entry of subgraphs) env[`${entry.envPrefix}_URL`] = `http://127.0.0.1:${ports[entry.name]}/graphql`;

  const urls = Object.fromEntries([
    ...Object.entries(ports).map(([name, port]) => [name, `http://127.0.0.1:${port}`]),
    ...Object.entries(metricsPorts).map(([name, port]) => [`${name}-metrics`, `http://127.0.0.1:${port}`]),
  ]);
  const children = new Map<string, ChildProcess>();
  const onLine = options.onLine ?? (() => {});
  const readyTimeoutMs = options.readyTimeoutMs ?? 60_000;

  const launch = async (service: ServiceDefinition) => {
    const child = spawn(process.execPath, ['--import', 'tsx', service.entry], { cwd: repoRoot, env, stdio: ['ignore', 'pipe', 'pipe'] });
    children.set(service.name, child);
    let readyFromLog: () => void = () => {};
    const loggedReady = new Promise<void>((resolve) => (readyFromLog = resolve));
    const recent: string[] = [];
    const forward = (chunk: Buffer) => {
      for (const line of chunk.toString('utf8').split('\n')) {
        if (!line) continue;
        recent.push(line);
        if (recent.length > 20) recent.shift();
        onLine(service.name, line);
        if (service.readyMessage && line.includes(`"msg":"${service.readyMessage}"`)) readyFromLog();
      }
    };
    child.stdout?.on('data', forward);
    child.stderr?.on('data', forward);
    const exited = new Promise<never>((_, reject) =>
      child.once('exit', (code, signal) =>
        reject(new Error(`${service.name} exited (${signal ?? code}) before it was ready:\n${recent.join('\n')}`)),
      ),
    );
    const ready = service.portEnv ? waitForReady(`${urls[service.name]}/ready`, readyTimeoutMs) : loggedReady;
    await Promise.race([ready, exited, timeout(readyTimeoutMs, `${service.name} was not ready within ${readyTimeoutMs} ms`)]);
    exited.catch(() => {}); // exits after readiness are the caller's business
  };

  const stopOne = async (name: string, signal: NodeJS.Signals = 'SIGTERM') => {
    const child = children.get(name);
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exit = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill(signal);
    const killer = setTimeout(() => child.kill('SIGKILL'), 5_000);
    await exit;
    clearTimeout(killer);
  };

  const byName = (name: string) => {
    const service = services.find((s) => s.name === name);
    if (!service) throw new Error(`no service named ${name}; known: ${services.map((s) => s.name).join(', ')}`);
    return service;
  };

  const stopAll = async () => {
    for (const service of [...services].reverse()) await stopOne(service.name);
  };
  const onExit = () => {
    for (const child of children.values()) child.kill('SIGKILL');
  };
  process.once('exit', onExit);

  try {
    // Workers and subgraphs first, in parallel; the gateway last, once its subgraphs answer.
    await Promise.all(services.filter((s) => s.name !== 'gateway').map(launch));
    await launch(byName('gateway'));
  } catch (error) {
    await stopAll();
    throw error;
  }

  return {
    gatewayUrl: `${urls.gateway}/graphql`,
    urls,
    kill: (name, signal = 'SIGKILL') => stopOne(byName(name).name, signal),
    restart: (name) => launch(byName(name)),
    stop: async () => {
      process.removeListener('exit', onExit);
      await stopAll();
    },
  };
}

async function waitForReady(url: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    try {
      const response = await fetch(url);
      if (response.ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`${url} did not answer 200 within ${timeoutMs} ms`);
}

const timeout = (ms: number, message: string) =>
  new Promise<never>((_, reject) => setTimeout(() => reject(new Error(message)), ms).unref());

/** Every service `npm start` runs, in start order (the gateway last). */
export const services = allServices;
