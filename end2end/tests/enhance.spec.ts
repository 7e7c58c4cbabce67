// The one island that enhances the server-rendered pages, against the real binary: back and
// forward without a reload, times in the browser's zone, Copy buttons, and a refused post
// shown in place. Runs after the stories, which leave trades in the ledger.
import { test, expect } from '@playwright/test';

test('back and forward swap pages without a reload', async ({ page }) => {
  await page.goto('/trades');
  await expect(page.locator('body')).toHaveAttribute('data-hydrated', 'true');
  await page.evaluate(() => { (window as any).__sameDocument = 3; });
  await page.getByRole('link', { name: 'Jobs' }).click();
  await expect(page.getByRole('heading', { level: 1, name: 'Jobs' })).toBeVisible();
  await page.getByRole('link', { name: 'Orders' }).click();
  await expect(page.getByRole('heading', { level: 1, name: 'Orders' })).toBeVisible();
  // The header is swapped too: the active link follows the page.
  await expect(page.getByRole('link', { name: 'Orders' })).toHaveAttribute('aria-current', 'page');
  await page.goBack();
  await expect(page).toHaveURL(/\/jobs$/);
  await expect(page.getByRole('heading', { level: 1, name: 'Jobs' })).toBeVisible();
  await page.goForward();
  await expect(page).toHaveURL(/\/orders$/);
  await expect(page.getByRole('heading', { level: 1, name: 'Orders' })).toBeVisible();
  await expect(page).toHaveTitle('Orders · Fillbook');
  expect(await page.evaluate(() => (window as any).__sameDocument)).toBe(3);
});

test.describe('in Tokyo', () => {
  test.use({ timezoneId: 'Asia/Tokyo' });
  test('times are shown in the browser\'s zone, the exact UTC on hover', async ({ page }) => {
    await page.goto('/jobs');
    await expect(page.locator('body')).toHaveAttribute('data-hydrated', 'true');
    const time = page.locator('table.data time[datetime]').first();
    const utc = (await time.getAttribute('datetime'))!;
    const tokyo = new Date(Date.parse(utc) + 9 * 3600 * 1000).toISOString().slice(0, 19).replace('T', ' ');
    await expect(time).toHaveText(tokyo);
    await expect(time).toHaveAttribute('title', `UTC ${utc}`);
    // A page reached by a link gets the same treatment.
    await page.getByRole('link', { name: 'Trades' }).click();
    await expect(page.locator('table.data time[datetime]').first()).not.toContainText('UTC');
  });
});

test('Copy puts the value on the clipboard', async ({ page, context, request }) => {
  await context.grantPermissions(['clipboard-read', 'clipboard-write']);
  const list = await (await request.get('/api/v1/trades?symbol=AAPL&limit=500')).json();
  const trade = list.items.find((t: any) => t.ib_perm_id);
  expect(trade).toBeTruthy();
  await page.goto(`/trades/${trade.id}`);
  await expect(page.locator('body')).toHaveAttribute('data-hydrated', 'true');
  const button = page.getByRole('button', { name: 'Copy Perm id' });
  await button.click();
  await expect(button).toHaveText('Copied');
  expect(await page.evaluate(() => navigator.clipboard.readText())).toBe(String(trade.ib_perm_id));
});

test('a post the server refuses shows its answer in place', async ({ page, request }) => {
  await page.goto('/trades');
  await expect(page.locator('body')).toHaveAttribute('data-hydrated', 'true');
  await page.evaluate(() => { (window as any).__sameDocument = 5; });
  const before = (await (await request.get('/api/v1/jobs?type=trades.sync&limit=500')).json()).items.length;
  // A stale form: its CSRF token is not the session's.
  await page.locator('[data-region="sync-form"] input[name="csrf"]').evaluate((i: HTMLInputElement) => { i.value = 'stale'; });
  await page.getByRole('button', { name: 'Sync now' }).click();
  await expect(page.getByRole('alert').first()).toContainText('The server refused this (403)');
  expect(await page.evaluate(() => (window as any).__sameDocument)).toBe(5);
  const after = (await (await request.get('/api/v1/jobs?type=trades.sync&limit=500')).json()).items.length;
  expect(after).toBe(before);
});

test('a link to a place on another page keeps its fragment', async ({ page, request }) => {
  const list = await (await request.get('/api/v1/trades?symbol=AAPL&limit=500')).json();
  const trade = list.items.find((t: any) => t.match_key === 'perm:1900000001');
  expect(trade).toBeTruthy();
  const execs = await (await request.get(`/api/v1/trades/${trade.id}/executions`)).json();
  const exec = (execs.items ?? execs)[0].ib_exec_id as string;
  const anchor = `exec-${exec.replace(/[^A-Za-z0-9]/g, '-')}`;
  await page.goto('/trades');
  await expect(page.locator('body')).toHaveAttribute('data-hydrated', 'true');
  await page.evaluate(() => { (window as any).__sameDocument = 9; });
  // No page links across to a fill today; the link is added here as a finding could add it.
  await page.evaluate(([href]) => {
    const a = document.createElement('a');
    a.href = href;
    a.textContent = 'to the fill';
    document.querySelector('main')!.prepend(a);
  }, [`/trades/${trade.id}#${anchor}`]);
  await page.getByRole('link', { name: 'to the fill' }).click();
  await expect(page).toHaveURL(new RegExp(`/trades/${trade.id}#${anchor}$`));
  await expect(page.locator(`tr#${anchor}`)).toBeInViewport();
  expect(await page.evaluate(() => (window as any).__sameDocument)).toBe(9);
});
