// Pages follow running work and fills as they happen, without a reload: Sync now pressed
// before the page hydrated (the form posts), a page opened while a sync runs, and a fill
// the gateway reports by itself appearing on an open /trades page (on a server of its own
// whose demo gateway emits a fill every second).
import { test, expect } from '@playwright/test';
import { spawn, execFileSync, ChildProcess } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

test('Sync now pressed before hydration ends completed without a reload', async ({ page }) => {
  // Hold the browser bundle back so the click lands before hydration: the form posts.
  let release: () => void = () => {};
  const held = new Promise<void>((r) => { release = r; });
  await page.route('**/pkg/*.wasm', async (route) => { await held; await route.continue(); });
  await page.goto('/trades', { waitUntil: 'domcontentloaded' });
  await expect(page.locator('body')).not.toHaveAttribute('data-hydrated', 'true');
  await page.getByRole('button', { name: 'Sync now' }).click();
  await page.waitForURL(/\/trades/);
  release();
  await expect(page.locator('body')).toHaveAttribute('data-hydrated', 'true', { timeout: 30_000 });
  await page.evaluate(() => { (window as any).__sameDocument = 1; });
  const status = page.getByTestId('sync-status');
  await expect(status).toContainText(/Sync #\d+ completed/, { timeout: 30_000 });
  await expect(page.locator('table.data tbody tr').first()).toBeVisible();
  expect(await page.evaluate(() => (window as any).__sameDocument)).toBe(1);
});

test('a page opened while a sync runs follows it to the end', async ({ page, baseURL }) => {
  await page.goto('/trades');
  await expect(page.locator('body')).toHaveAttribute('data-hydrated', 'true');
  await page.evaluate(() => { (window as any).__sameDocument = 1; });
  // Another operator (or a bot) starts a sync; this page did not.
  const res = await page.request.post('/api/v1/jobs', {
    headers: { Origin: baseURL!, 'Content-Type': 'application/json' },
    data: { type: 'trades.sync' },
  });
  expect(res.status()).toBe(202);
  const job = (await res.json()).id as number;
  const status = page.getByTestId('sync-status');
  await expect(status).toContainText(new RegExp(`Sync #${job} completed`), { timeout: 30_000 });
  expect(await page.evaluate(() => (window as any).__sameDocument)).toBe(1);
});

test.describe('a gateway that reports fills by itself', () => {
  test.use({ storageState: { cookies: [], origins: [] } });
  const root = path.resolve(__dirname, '..', '..');
  const binary = path.join(root, 'target', 'debug', 'fillbook');
  const port = Number(process.env.E2E_LIVE_PORT || 3901);
  const base = `http://127.0.0.1:${port}`;
  let server: ChildProcess | undefined;
  let dataDir = '';

  test.beforeAll(async () => {
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'fillbook-e2e-live-'));
    const db = `sqlite://${dataDir}/live.db`;
    execFileSync(binary, ['--database-url', db, 'migrate']);
    execFileSync(binary, ['--database-url', db, 'users', 'add', 'live', '--admin', '--password-stdin'],
      { input: 'live e2e password\n' });
    server = spawn(binary, ['serve', '--demo', '--demo-fill-every', '1', '--sync-every', '0',
      '--positions-every', '0', '--bind', `127.0.0.1:${port}`, '--database-url', db,
      '--site-root', path.join(root, 'target', 'site')], { stdio: 'ignore' });
    await expect.poll(async () => {
      try { return (await fetch(`${base}/readyz`)).status; } catch { return 0; }
    }, { timeout: 30_000 }).toBe(200);
  });

  test.afterAll(async () => {
    server?.kill();
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  test('its fills appear on an open /trades page', async ({ page }) => {
    await page.goto(`${base}/login`);
    await page.getByLabel('User name').fill('live');
    await page.getByLabel('Password').fill('live e2e password');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.goto(`${base}/trades`);
    await expect(page.locator('body')).toHaveAttribute('data-hydrated', 'true');
    await page.evaluate(() => { (window as any).__sameDocument = 1; });
    const rows = page.locator('table.data tbody tr');
    const before = await rows.count();
    // Nobody clicks anything: the demo gateway's fills arrive through the live subscription.
    await expect.poll(() => rows.count(), { timeout: 30_000 }).toBeGreaterThan(before);
    expect(await page.evaluate(() => (window as any).__sameDocument)).toBe(1);
    // The jobs page shows the live subscription and its fills.
    await page.goto(`${base}/jobs`);
    await expect(page.getByTestId('worker-status')).toContainText('Live fills');
    await expect(page.getByTestId('worker-status')).toContainText('default');
  });
});
