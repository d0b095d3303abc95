#!/usr/bin/env node
// First step of `npm start` and `npm test` on any machine, fresh or not: installs the npm
// packages when node_modules is missing or older than package-lock.json, then builds (once,
// cached in .cache/) the nats-server and FerretDB binaries from the Go module proxy.
// Plain Node with no dependencies, because it runs before they are installed.
import { execFileSync } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../', import.meta.url));
const run = (command, args) => execFileSync(command, args, { cwd: root, stdio: 'inherit' });

const marker = `${root}node_modules/.package-lock.json`;
const lock = `${root}package-lock.json`;
if (!existsSync(marker) || statSync(marker).mtimeMs < statSync(lock).mtimeMs) {
  console.log('setup: installing npm packages (npm ci)…');
  run('npm', ['ci', '--no-audit', '--no-fund']);
}
if (process.env.NATS_URL && process.env.MONGODB_URL) process.exit(0);
run(process.execPath, ['--import', 'tsx', 'local-servers/src/cli.ts', '--build-only']);
