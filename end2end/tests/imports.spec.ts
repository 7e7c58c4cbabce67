// Statement imports against the real binary and the demo gateway simulator: sync the
// gateway's fills, upload a Flex statement on /imports (a fill the gateway already
// delivered, two new fills of the same order, a cancellation of one of them, one day
// covered), then see the import's metrics, the new fills in the gateway's trade, the
// cancelled fill struck through, and the gaps on /accounts. The upload is a plain form
// post, so this also holds without JavaScript.
import { test, expect, Page } from '@playwright/test';
import * as path from 'path';

const STATEMENT = path.join(__dirname, '..', 'fixtures', 'statement-merge.xml');
const MALFORMED = path.join(__dirname, '..', 'fixtures', 'malformed.xml');

async function uploadAndWait(page: Page, file: string, status: string) {
  await page.goto('/imports');
  await expect(page.getByRole('heading', { level: 1, name: 'Statement imports' })).toBeVisible();
  await page.getByLabel('Statement (XML)').setInputFiles(file);
  await page.getByRole('button', { name: 'Import' }).click();
  await expect(page).toHaveURL(/\/imports\?id=\d+$/);
  // A pending import's page reloads itself until the job has run.
  const detail = page.getByTestId('import-detail');
  await expect(detail).toHaveAttribute('data-status', status, { timeout: 30_000 });
  return detail;
}

test('a statement merges into the ledger; cancelled fills and gaps show', async ({ page, request }) => {
  // The gateway's fills first.
  await page.goto('/trades');
  await expect(page.locator('body')).toHaveAttribute('data-hydrated', 'true');
  await page.getByRole('button', { name: 'Sync now' }).click();
  await expect(page.getByTestId('sync-status')).toContainText('completed', { timeout: 30_000 });
  const before = await (await request.get('/api/v1/trades?symbol=AAPL&limit=500')).json();
  const trade = before.items.find((t: any) => t.match_key === 'perm:1800000001');
  expect(trade).toBeTruthy();

  const detail = await uploadAndWait(page, STATEMENT, 'completed');
  await expect(detail.locator('[data-metric="rows_read"]')).toHaveText('4');
  await expect(detail.locator('[data-metric="executions_busted"]')).toHaveText('1');
  await expect(detail).toContainText('ORDER 1');
  await expect(detail).toContainText('DU1234567: 20261116 to 20261116');
  // The history lists it.
  await expect(page.getByRole('cell', { name: 'statement-merge.xml' }).first()).toBeVisible();
  await page.screenshot({ path: 'test-results/imports-completed.png', fullPage: true });

  // The new fills joined the gateway's trade; the cancelled one is struck through.
  await page.goto(`/trades/${trade.id}`);
  const row = (exec: string) => page.locator(`tr#exec-${exec.replace(/[^A-Za-z0-9]/g, '-')}`);
  await expect(row('0000e0d5.6b49d201.01.01')).toBeVisible();
  await expect(row('0000e0d5.6b49d201.02.01')).toBeVisible();
  await expect(row('0000e0d5.6b49d201.03.01')).toHaveClass(/canonical/);
  const cancelled = row('0000e0d5.6b49d201.04.01');
  await expect(cancelled).toHaveClass(/busted/);
  await expect(cancelled).toContainText('cancelled by statement flex-txn:9005');
  const strike = await cancelled.locator('td.exec-id').evaluate((td) => getComputedStyle(td).textDecorationLine);
  expect(strike).toContain('line-through');
  await page.screenshot({ path: 'test-results/imports-trade.png', fullPage: true });

  // The statement covered one day: the account has gaps.
  await page.goto('/accounts');
  const account = page.locator('section[data-account="DU1234567"]');
  await expect(account.getByTestId('gaps')).toBeVisible();
  await expect(account.locator('.coverage-strip .cov-gap').first()).toBeAttached();
  await page.screenshot({ path: 'test-results/imports-accounts.png', fullPage: true });
});

test('a malformed statement fails and names the line', async ({ page }) => {
  const detail = await uploadAndWait(page, MALFORMED, 'failed');
  await expect(detail.getByRole('alert')).toContainText(/line \d+/);
});

test('an administrator sets an account\'s statement time zone', async ({ page }) => {
  await page.goto('/accounts');
  await expect(page.locator('body')).toHaveAttribute('data-hydrated', 'true');
  const zone = page.getByLabel('Statement time zone of DU7654321 (IANA)');
  await zone.fill('Mars/Olympus');
  await page.getByRole('button', { name: 'Save time zone' }).nth(1).click();
  await expect(page.getByRole('alert')).toContainText('not an IANA time zone');
  await zone.fill('Europe/Zurich');
  await page.getByRole('button', { name: 'Save time zone' }).nth(1).click();
  await expect(page.getByRole('cell', { name: 'Europe/Zurich' })).toBeVisible();
  await zone.fill('');
  await page.getByRole('button', { name: 'Save time zone' }).nth(1).click();
  await expect(page.getByRole('cell', { name: 'Europe/Zurich' })).toHaveCount(0);
});

test.describe('without JavaScript', () => {
  test.use({ javaScriptEnabled: false });

  test('the upload form imports a statement; a re-import inserts nothing', async ({ page }) => {
    const detail = await uploadAndWait(page, STATEMENT, 'completed');
    await expect(detail.locator('[data-metric="executions_inserted"]')).toHaveText('0');
    await expect(page.locator('body')).not.toHaveAttribute('data-hydrated', 'true');
  });
});
