// Playwright runs Debian's chromium (never a downloaded browser) against the real
// `fillbook` binary, started on a fresh SQLite database on a free port.
import { defineConfig } from '@playwright/test';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

const port = Number(process.env.E2E_PORT || 3900);
// One data directory for the whole run (workers load this file again and inherit it).
process.env.E2E_DATA_DIR ||= fs.mkdtempSync(path.join(os.tmpdir(), 'fillbook-e2e-'));
const dataDir = process.env.E2E_DATA_DIR;
const root = path.resolve(__dirname, '..');
const binary = path.join(root, 'target', 'debug', 'fillbook');
// The first-run setup token the server would print on its console; fixed here so the setup
// test can use it (workers inherit it from this process's environment).
process.env.E2E_SETUP_TOKEN ||= `e2e-${Math.random().toString(36).slice(2)}${Date.now()}`;
export const STORAGE = path.join(__dirname, 'test-results', '.auth', 'admin.json');

export default defineConfig({
  testDir: './tests',
  outputDir: './test-results/artifacts',
  timeout: 60_000,
  expect: { timeout: 15_000 },
  fullyParallel: false,
  workers: 1,
  retries: 0,
  reporter: [['list']],
  use: {
    baseURL: `http://127.0.0.1:${port}`,
    trace: 'retain-on-failure',
    launchOptions: {
      executablePath: process.env.CHROMIUM_PATH || '/usr/bin/chromium',
      args: [
        '--no-sandbox', '--disable-gpu', '--disable-background-networking',
        '--disable-component-update', '--disable-sync', '--disable-quic', '--no-first-run',
      ],
    },
  },
  projects: [
    // First run: setup → sign out → sign in; saves the signed-in state for the rest.
    { name: 'setup', testMatch: /auth\.setup\.ts/ },
    { name: 'app', dependencies: ['setup'], use: { storageState: STORAGE }, testIgnore: [/auth\.setup\.ts/, /imports\.spec\.ts/, /live\.spec\.ts/, /trust\.spec\.ts/, /enhance\.spec\.ts/] },
    // Statement imports change the ledger the operator story expects to start empty: last.
    { name: 'imports', dependencies: ['app'], use: { storageState: STORAGE }, testMatch: /imports\.spec\.ts/ },
    // Live pages start syncs of their own: after the stories that expect a still ledger.
    { name: 'live', dependencies: ['imports'], use: { storageState: STORAGE }, testMatch: /live\.spec\.ts/ },
    // Reconciliation, history and exports read what the stories before them wrote.
    { name: 'trust', dependencies: ['live'], use: { storageState: STORAGE }, testMatch: /trust\.spec\.ts/ },
    // The page enhancements on pages with data: last.
    { name: 'enhance', dependencies: ['trust'], use: { storageState: STORAGE }, testMatch: /enhance\.spec\.ts/ },
  ],
  webServer: {
    // A configured gateway nobody listens on: the failing-sync story chooses it by name
    // (requests cannot name addresses).
    command: `${binary} --database-url sqlite://${dataDir}/e2e.db gateways add dead --host 127.0.0.1 --port 1 && FILLBOOK_SETUP_TOKEN=${process.env.E2E_SETUP_TOKEN} ${binary} serve --demo --demo-fill-every 0 --sync-every 0 --positions-every 0 --flex-fetch-every 0 --bind 127.0.0.1:${port} --site-root ${path.join(root, 'target', 'site')} --database-url sqlite://${dataDir}/e2e.db`,
    url: `http://127.0.0.1:${port}/readyz`,
    timeout: 60_000,
    reuseExistingServer: false,
    stdout: 'pipe',
    stderr: 'pipe',
  },
});
