// Trusting the ledger, against the real binary and the demo gateway, after the statement
// import of the stories before: the reconciliation page names a position the fills do not
// explain, a trade changed by a statement shows its history, and /trades downloads the
// CSV export of its filters.
import { test, expect } from '@playwright/test';
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';

const BINARY = path.resolve(__dirname, '..', '..', 'target', 'debug', 'fillbook');
const DATABASE = `sqlite://${process.env.E2E_DATA_DIR}/e2e.db`;

test('the reconciliation page shows a position the fills do not explain', async ({ page, baseURL }) => {
  // The gateway's positions, read by a positions.sync job.
  const res = await page.request.post('/api/v1/jobs', {
    headers: { Origin: baseURL!, 'Content-Type': 'application/json' },
    data: { type: 'positions.sync' },
  });
  expect(res.status()).toBe(202);
  const job = (await res.json()).id as number;
  await expect
    .poll(async () => (await (await page.request.get(`/api/v1/jobs/${job}`)).json()).state, { timeout: 30_000 })
    .toBe('completed');
  // An operator's baseline says the account held 5 ZZZZ the gateway does not report.
  execFileSync(BINARY, ['--database-url', DATABASE, 'reconcile', 'baseline', 'DU1234567',
    '--at', '2000-01-01', '--position', 'ZZZZ=5']);

  await page.goto('/reconciliation');
  await expect(page.getByRole('heading', { level: 1, name: 'Reconciliation' })).toBeVisible();
  const mismatch = page.locator('[data-testid="findings"] li[data-code="position_mismatch"]', { hasText: 'ZZZZ' });
  await expect(mismatch).toHaveCount(1);
  await expect(mismatch).toContainText('DU1234567');
  await expect(mismatch).toContainText('difference -5');
  await expect(mismatch.getByRole('link', { name: '/trades?symbol=ZZZZ' })).toBeVisible();
  const row = page.locator('section[data-account="DU1234567"] tr.mismatch', { hasText: 'ZZZZ' });
  await expect(row).toHaveCount(1);
  await expect(page.getByTestId('reconciliation-summary')).toContainText('findings');
});

test('a trade a statement changed shows its history', async ({ page, request }) => {
  const list = await (await request.get('/api/v1/trades?symbol=AAPL&limit=500')).json();
  const trade = list.items.find((t: any) => t.match_key === 'perm:1800000001');
  expect(trade).toBeTruthy();
  const history = await (await request.get(`/api/v1/trades/${trade.id}/history`)).json();
  const kinds = history.events.map((e: any) => e.kind);
  expect(kinds).toContain('busted');

  await page.goto(`/trades/${trade.id}`);
  const timeline = page.getByTestId('history');
  await expect(timeline).toBeVisible();
  // Each fill's first recording, then the statement's changes with the import that made them.
  await expect(timeline.locator('li')).toHaveCount(history.recorded.length + history.events.length);
  await expect(timeline.locator('[data-kind="busted"]')).toHaveCount(kinds.filter((k: string) => k === 'busted').length);
  const busted = timeline.locator('li', { has: page.locator('[data-kind="busted"]') }).first();
  await expect(busted).toContainText('busted_by');
  await expect(busted).toContainText(/\(import:\d+\)/);
});

test('/trades downloads the CSV export of its filters', async ({ page, request }) => {
  await page.goto('/trades?account=DU1234567');
  const link = page.getByTestId('export-fills');
  await expect(link).toHaveAttribute('href', '/api/v1/exports/fills?format=csv&account=DU1234567');
  const [download] = await Promise.all([page.waitForEvent('download'), link.click()]);
  const file = await download.path();
  const text = fs.readFileSync(file!, 'utf8');
  const lines = text.split('\r\n').filter((l) => l.length > 0);
  expect(lines[0].startsWith('exec_id,account,executed_at,symbol,side,quantity')).toBe(true);
  const expected = await (await request.get('/api/v1/exports/fills?format=csv&account=DU1234567')).text();
  expect(lines.length).toBe(expected.split('\r\n').filter((l) => l.length > 0).length);
  expect(lines.length).toBeGreaterThan(10);
  expect(lines.slice(1).every((l) => l.split(',')[1] === 'DU1234567')).toBe(true);
});
