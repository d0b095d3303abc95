/**
 * The image's HEALTHCHECK: exits 0 when `GET /health` of this container's service answers 200
 * within two seconds. The service's port comes from `HEALTHCHECK_PORT` (compose sets it per
 * service), 4000 by default.
 */
const port = Number(process.env.HEALTHCHECK_PORT ?? 4000);
try {
  const response = await fetch(`http://127.0.0.1:${port}/health`, { signal: AbortSignal.timeout(2_000) });
  process.exit(response.ok ? 0 : 1);
} catch {
  process.exit(1);
}
