# One image for every service; docker-compose.yml picks the entry point per service.
FROM node:20-bookworm-slim
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
RUN npm ci --no-audit --no-fund
COPY . .
ENV NODE_ENV=production HOST=0.0.0.0 APOLLO_TELEMETRY_DISABLED=1
CMD ["node", "--import", "tsx", "gateway/src/main.ts"]
