/**
 * Starts the whole system as real processes: every subgraph, the projector and the gateway,
 * each in its own Node process, wired to one NATS and one MongoDB-wire server. Used by
 * `npm start` and by the end-to-end tests (which pick free ports). A service that exits
 * unasked is reported and, with restarts on (the default), started again after a backoff.
 */
import { bootstrapEventLog, connectNats } from '@happyride/eventstore';
import { localNatsServiceUrl } from '@happyride/local-servers/nats-users';
import { freePort } from '@happyride/local-servers/start-server';
import { readEventStreamReplicas, readIdempotencyBounds } from '@happyride/platform';
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { subgraphs } from '../schema/subgraphs.ts';

/** The one port picker (below the ephemeral range), for tests and benches that start servers of their own. */
export { freePort };

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
  /**
   * The bootstrap step connects with it. The admin URL of local servers
   * (`nats://local-admin:…`) gives each service a user of its own (`localNatsServiceUrl`);
   * any other URL (an external server) is every service's as it is.
   */
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
  /**
   * 'source' runs each entry's TypeScript through tsx (tests, development); 'compiled' runs the
   * bundle `npm run build` wrote to `dist/<name>.js` with plain node (`npm start`).
   */
  runtime?: 'source' | 'compiled';
  /** What the launcher itself has to say: a service that exited, its restart, its return. */
  onLauncherEvent?: (message: string) => void;
  /** Restart a service that exits unasked (default on); `false` only reports it. */
  restarts?: Partial<RestartPolicy> | false;
  /**
   * How many processes of a service to run (default 1 each): `{ gateway: 2 }` runs `gateway`
   * and `gateway-2`, each on ports of its own (`urls['gateway-2']`) and with the same
   * configuration otherwise. Subgraph URLs given to the gateways name each subgraph's first
   * process. `kill`, `restart` and `pid` take the instance name.
   */
  replicas?: Readonly<Record<string, number>>;
}

/** One process of a service: the first has the service's name, the others `<name>-<n>`. */
export interface ServiceInstance extends ServiceDefinition {
  /** The service it runs (its NATS user, its entry). */
  service: string;
}

/** The processes `replicas` asks for, in the services' start order. */
export function serviceInstances(services: readonly ServiceDefinition[], replicas: Readonly<Record<string, number>> = {}): ServiceInstance[] {
  for (const [name, count] of Object.entries(replicas)) {
    if (!services.some((service) => service.name === name)) throw new Error(`replicas: no service named ${name}`);
    if (!Number.isInteger(count) || count < 1 || count > 16) throw new Error(`replicas: ${name} must be 1 to 16, not ${count}`);
  }
  return services.flatMap((service) =>
    Array.from({ length: replicas[service.name] ?? 1 }, (_, index) => ({
      ...service,
      name: index === 0 ? service.name : `${service.name}-${index + 1}`,
      service: service.name,
    })),
  );
}

/** The node arguments that run one service. */
export function serviceArguments(service: ServiceDefinition, runtime: 'source' | 'compiled' = 'source'): string[] {
  return runtime === 'compiled' ? ['--enable-source-maps', `dist/${service.name}.js`] : ['--import', 'tsx', service.entry];
}

/**
 * Delays before restarting a crashed service: `initialDelayMs`, doubled after each crash up to
 * `maxDelayMs`, back to `initialDelayMs` once the service had been ready for `healthyAfterMs`.
 */
export interface RestartPolicy {
  initialDelayMs: number;
  maxDelayMs: number;
  healthyAfterMs: number;
}

export const defaultRestartPolicy: RestartPolicy = { initialDelayMs: 500, maxDelayMs: 30_000, healthyAfterMs: 60_000 };

/** The delay before the restart after `crashesInARow` crashes (1 for the first). */
export function restartDelayMs(policy: RestartPolicy, crashesInARow: number): number {
  return Math.min(policy.maxDelayMs, policy.initialDelayMs * 2 ** Math.max(0, crashesInARow - 1));
}

/** How a launcher line names an exit: `code 1`, `signal SIGKILL`. */
export function describeExit(code: number | null, signal: NodeJS.Signals | null): string {
  return signal ? `signal ${signal}` : `code ${code}`;
}

export interface RunningSystem {
  gatewayUrl: string;
  urls: Record<string, string>;
  /**
   * Sends a signal to one service (SIGKILL to simulate a crash) and waits for it to exit. The
   * caller owns it then: the launcher does not restart it until `restart`.
   */
  kill(name: string, signal?: NodeJS.Signals): Promise<void>;
  /** Starts one service again (after `kill`) and waits until it is ready. */
  restart(name: string): Promise<void>;
  /** The process id of a running service (to signal it behind the launcher's back). */
  pid(name: string): number | undefined;
  stop(): Promise<void>;
}

export async function startSystem(options: SystemOptions): Promise<RunningSystem> {
  const services = serviceInstances(
    allServices.filter((service) => !options.without?.includes(service.name)),
    options.replicas,
  );
  // EVENT_STREAM_REPLICAS as the services would see it (3 on a local cluster: see start.ts).
  const replicas = readEventStreamReplicas({ ...process.env, ...options.env });
  const nats = await connectNats(options.natsUrl, 'bootstrap');
  try {
    await bootstrapEventLog(nats.jsm, undefined, { replicas, bounds: readIdempotencyBounds({ ...process.env, ...options.env }) });
  } finally {
    await nats.close();
  }

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
  for (const entry of subgraphs) env[`${entry.envPrefix}_URL`] = `http://127.0.0.1:${ports[entry.name]}/graphql`;

  /** Its own ports, and its own NATS user when the server is ours (see `natsUrl`). */
  const serviceEnv = (service: ServiceInstance): Record<string, string> => {
    const own: Record<string, string> = { ...env };
    if (service.portEnv) own[service.portEnv] = String(ports[service.name]);
    if (service.metricsPortEnv) own[service.metricsPortEnv] = String(metricsPorts[service.name]);
    const natsUrl = localNatsServiceUrl(env.NATS_URL ?? options.natsUrl, service.service);
    if (natsUrl !== undefined) own.NATS_URL = natsUrl;
    return own;
  };

  const urls = Object.fromEntries([
    ...Object.entries(ports).map(([name, port]) => [name, `http://127.0.0.1:${port}`]),
    ...Object.entries(metricsPorts).map(([name, port]) => [`${name}-metrics`, `http://127.0.0.1:${port}`]),
  ]);
  const children = new Map<string, ChildProcess>();
  const onLine = options.onLine ?? (() => {});
  const report = options.onLauncherEvent ?? (() => {});
  const readyTimeoutMs = options.readyTimeoutMs ?? 60_000;
  const policy: RestartPolicy | undefined = options.restarts === false ? undefined : { ...defaultRestartPolicy, ...options.restarts };
  /** Services the caller stopped (`kill`) or that are being stopped: their exit is expected. */
  const owned = new Set<string>();
  const crashes = new Map<string, number>();
  const pendingRestarts = new Map<string, NodeJS.Timeout>();
  let stopping = false;

  /** Spawns a service and waits until it is ready; if it is not, it is killed and this throws. */
  const launch = async (service: ServiceInstance) => {
    const child = spawn(process.execPath, serviceArguments({ ...service, name: service.service }, options.runtime), { cwd: repoRoot, env: serviceEnv(service), stdio: ['ignore', 'pipe', 'pipe'] });
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
    let readyAt: number | undefined;
    const exited = new Promise<never>((_, reject) =>
      child.once('exit', (code, signal) => {
        if (readyAt === undefined) reject(new Error(`${service.name} exited (${describeExit(code, signal)}) before it was ready:\n${recent.join('\n')}`));
        else onExitAfterReady(service, child, code, signal, readyAt);
      }),
    );
    const alive = () => child.exitCode === null && child.signalCode === null;
    const ready = service.portEnv ? waitForReady(`${urls[service.name]}/ready`, readyTimeoutMs, alive) : loggedReady;
    try {
      await Promise.race([ready, exited, timeout(readyTimeoutMs, `${service.name} was not ready within ${readyTimeoutMs} ms`)]);
      readyAt = Date.now();
    } catch (error) {
      if (alive()) child.kill('SIGKILL');
      throw error;
    }
  };

  /** A service that exits after it was ready, unasked, is a crash: say so, and restart it. */
  const onExitAfterReady = (service: ServiceInstance, child: ChildProcess, code: number | null, signal: NodeJS.Signals | null, readyAt: number) => {
    if (stopping || owned.has(service.name) || children.get(service.name) !== child) return;
    if (!policy) return report(`${service.name} exited (${describeExit(code, signal)}); restarts are off`);
    const inARow = Date.now() - readyAt >= policy.healthyAfterMs ? 1 : (crashes.get(service.name) ?? 0) + 1;
    crashes.set(service.name, inARow);
    scheduleRestart(service, `${service.name} exited (${describeExit(code, signal)})`, inARow);
  };

  const scheduleRestart = (service: ServiceInstance, why: string, inARow: number) => {
    if (!policy) return;
    const delayMs = restartDelayMs(policy, inARow);
    report(`${why}; restarting it in ${(delayMs / 1000).toFixed(1)} s (crash ${inARow} in a row)`);
    const timer = setTimeout(() => {
      pendingRestarts.delete(service.name);
      if (stopping || owned.has(service.name)) return;
      launch(service).then(
        () => report(`${service.name} restarted: ready again`),
        (error: unknown) => {
          if (stopping || owned.has(service.name)) return;
          const next = (crashes.get(service.name) ?? inARow) + 1;
          crashes.set(service.name, next);
          scheduleRestart(service, `${service.name} failed to restart (${firstLine(error)})`, next);
        },
      );
    }, delayMs);
    timer.unref();
    pendingRestarts.set(service.name, timer);
  };

  const stopOne = async (name: string, signal: NodeJS.Signals = 'SIGTERM') => {
    clearTimeout(pendingRestarts.get(name));
    pendingRestarts.delete(name);
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

  /**
   * The gateways first (no new requests come in; each drains what it holds), then every other
   * service at once: each gets SIGTERM and 5 s before SIGKILL, so all are gone within about 10 s.
   */
  const stopAll = async () => {
    stopping = true;
    await Promise.all(services.filter((s) => s.service === 'gateway').map((s) => stopOne(s.name)));
    await Promise.all(services.filter((s) => s.service !== 'gateway').map((s) => stopOne(s.name)));
  };
  const onExit = () => {
    for (const child of children.values()) child.kill('SIGKILL');
  };
  process.once('exit', onExit);

  try {
    // Workers and subgraphs first, in parallel; the gateways last, once their subgraphs answer.
    await Promise.all(services.filter((s) => s.service !== 'gateway').map(launch));
    await Promise.all(services.filter((s) => s.service === 'gateway').map(launch));
  } catch (error) {
    await stopAll();
    throw error;
  }

  return {
    gatewayUrl: `${urls.gateway}/graphql`,
    urls,
    kill: (name, signal = 'SIGKILL') => {
      owned.add(byName(name).name);
      return stopOne(name, signal);
    },
    restart: async (name) => {
      const service = byName(name);
      owned.add(service.name);
      await stopOne(service.name);
      owned.delete(service.name);
      crashes.delete(service.name);
      await launch(service);
    },
    pid: (name) => {
      const child = children.get(byName(name).name);
      return child && child.exitCode === null && child.signalCode === null ? child.pid : undefined;
    },
    stop: async () => {
      process.removeListener('exit', onExit);
      await stopAll();
    },
  };
}

async function waitForReady(url: string, timeoutMs: number, alive: () => boolean): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline && alive()) {
    try {
      const response = await fetch(url, { signal: AbortSignal.timeout(5_000) });
      await response.body?.cancel();
      if (response.ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`${url} did not answer 200 within ${timeoutMs} ms`);
}

const firstLine = (error: unknown) => (error instanceof Error ? error.message : String(error)).split('\n', 1)[0];

const timeout = (ms: number, message: string) =>
  new Promise<never>((_, reject) => setTimeout(() => reject(new Error(message)), ms).unref());

/** Every service `npm start` runs, in start order (the gateway last). */
export const services = allServices;
