// The operator's story against the real binary with the demo gateway simulator:
// order → confirm → worker submits → Sync now → live job → new trade in place → corrected
// fill's revisions → filters in the URL; the same without JavaScript; double-click; failure + Retry.
import { test, expect, Page, APIRequestContext } from '@playwright/test';

async function jobs(request: APIRequestContext, type: string) {
  const res = await request.get(`/api/v1/jobs?type=${type}&limit=500`);
  expect(res.ok()).toBeTruthy();
  return (await res.json()).items as Array<{ id: number; state: string; error: string | null; attempt: number }>;
}

async function waitIdle(request: APIRequestContext) {
  await expect.poll(async () => {
    const all = (await (await request.get('/api/v1/jobs?limit=500')).json()).items as Array<{ state: string }>;
    return all.filter((j) => ['available', 'running', 'scheduled'].includes(j.state)).length;
  }, { timeout: 30_000 }).toBe(0);
}

async function createAndConfirmOrder(page: Page, symbol: string, qty: string) {
  await page.getByLabel('Symbol', { exact: true }).fill(symbol);
  await page.getByLabel('Quantity').fill(qty);
  await page.getByRole('button', { name: 'Review order' }).click();
  await expect(page).toHaveURL(/\/orders\/\d+\?token=/);
  await expect(page.getByRole('heading', { name: 'Confirm this order' })).toBeVisible();
  await expect(page.getByText(`BUY ${qty} ${symbol} MKT DAY`).first()).toBeVisible();
  await page.getByRole('button', { name: 'Confirm and send' }).click();
  await expect(page).toHaveURL(/\/orders\/\d+$/);
}

test('the operator story, hydrated', async ({ page, request }) => {
  const problems: string[] = [];
  page.on('pageerror', (e) => problems.push(e.message));
  page.on('console', (m) => { if (m.type() === 'error') problems.push(m.text()); });

  await page.goto('/trades');
  await expect(page.locator('body')).toHaveAttribute('data-hydrated', 'true');
  await expect(page.getByText('demo gateway')).toBeVisible();
  await page.evaluate(() => { (window as any).__sameDocument = 1; });

  // A fresh ledger: Sync now pulls the gateway's fills; the job is shown live and the
  // table fills in place, without a reload.
  await expect(page.getByText('No trades match')).toBeVisible();
  await page.getByRole('button', { name: 'Sync now' }).click();
  const status = page.getByTestId('sync-status');
  await expect(status).toContainText(/completed: \d+ new fills, \d+ corrections, \d+ trades updated/, { timeout: 30_000 });
  await expect(page.locator('table.data tbody tr').first()).toBeVisible();
  await waitIdle(request);

  // Order → confirmation → the orders worker submits it to the simulator, which fills it.
  await page.getByRole('link', { name: 'Orders' }).click();
  await createAndConfirmOrder(page, 'AAPL', '10');
  await expect.poll(async () => {
    await page.getByRole('button', { name: 'Refresh' }).click();
    return page.locator('.timeline').innerText();
  }, { timeout: 30_000 }).toContain('filled');
  // The job that placed it; the per-minute orders.submit schedule may have added another.
  await expect(page.getByText('orders.submit').first()).toBeVisible();
  await waitIdle(request);
  const orderId = page.url().split('/').pop();
  const order = await (await request.get(`/api/v1/orders/${orderId}`)).json();
  expect(order.order.status).toBe('filled');

  // Sync now again: the new trade appears in the table in place.
  await page.getByRole('link', { name: 'Trades' }).click();
  await expect(page).toHaveURL(/\/trades$/);
  await page.getByRole('button', { name: 'Sync now' }).click();
  await expect(status).toContainText('completed', { timeout: 30_000 });
  const aapl = await (await request.get('/api/v1/trades?symbol=AAPL&limit=500')).json();
  const mine = aapl.items.find((t: any) => t.match_key === `perm:${order.order.ib_perm_id}`);
  expect(mine.status).toBe('filled');
  expect(mine.total_quantity).toBe(10);
  await expect(page.locator(`table.data a[href="/trades/${mine.id}"]`)).toBeVisible();
  expect(await page.evaluate(() => (window as any).__sameDocument)).toBe(1);
  await page.screenshot({ path: 'test-results/story-trades.png', fullPage: true });

  // The corrected fill: three revisions, the canonical badge on the highest (.03).
  const list = await (await request.get('/api/v1/trades?symbol=AAPL&limit=500')).json();
  const corrected = list.items.find((t: any) => t.match_key === 'perm:1900000001');
  expect(corrected).toBeTruthy();
  await page.goto(`/trades/${corrected.id}`);
  const rows = page.locator('table.executions tbody tr');
  await expect(rows).toHaveCount(3);
  await expect(page.locator('tr.canonical')).toHaveCount(1);
  await expect(page.locator('tr.canonical')).toContainText('0000e0d5.6576ba1b.01.03');
  await expect(page.locator('tr.canonical .canonical-badge')).toHaveText('canonical');
  await expect(page.locator('tr.superseded')).toHaveCount(2);
  await expect(page.locator('tr.superseded').first().getByRole('link', { name: '0000e0d5.6576ba1b.01.03' })).toBeVisible();
  await page.screenshot({ path: 'test-results/story-trade-detail.png', fullPage: true });

  // Filters live in the URL.
  await page.goto('/trades');
  await expect(page.locator('body')).toHaveAttribute('data-hydrated', 'true');
  await page.getByLabel('Status').selectOption('filled');
  await page.getByLabel('Symbol').fill('MSFT');
  await page.getByRole('button', { name: 'Apply' }).click();
  await expect(page).toHaveURL(/status=filled/);
  await expect(page).toHaveURL(/symbol=MSFT/);
  // The table re-renders in place once the filtered page arrives.
  await expect.poll(async () => {
    const symbols = await page.locator('table.data tbody tr td:nth-child(2)').allInnerTexts();
    return [...new Set(symbols)];
  }).toEqual(['MSFT']);
  expect(problems).toEqual([]);
});

test.describe('without JavaScript', () => {
  test.use({ javaScriptEnabled: false });
  test('the operator story through forms and reloads', async ({ page, request }) => {
    await page.goto('/trades');
    await page.getByRole('button', { name: 'Sync now' }).click();
    await waitIdle(request);
    await page.goto('/orders');
    await createAndConfirmOrder(page, 'MSFT', '5');
    await waitIdle(request);
    await page.reload();
    await expect(page.locator('.timeline')).toContainText('filled');

    await page.goto('/trades');
    await page.getByRole('button', { name: 'Sync now' }).click();
    await expect(page).toHaveURL(/\/trades/);
    await waitIdle(request);
    await page.reload();
    await expect(page.getByTestId('sync-status')).toContainText('completed');
    await expect(page.locator('table.data')).toContainText('MSFT');

    await page.getByLabel('Status').selectOption('filled');
    await page.getByLabel('Symbol').fill('MSFT');
    await page.getByRole('button', { name: 'Apply' }).click();
    await expect(page).toHaveURL(/status=filled&symbol=MSFT/);
    const symbols = await page.locator('table.data tbody tr td:nth-child(2)').allInnerTexts();
    expect(new Set(symbols)).toEqual(new Set(['MSFT']));
  });
});

test('double-clicking Sync now creates one job', async ({ page, request }) => {
  await waitIdle(request);
  const before = (await jobs(request, 'trades.sync')).length;
  await page.goto('/trades');
  await expect(page.locator('body')).toHaveAttribute('data-hydrated', 'true');
  await page.getByRole('button', { name: 'Sync now' }).dblclick();
  await expect(page.getByTestId('sync-status')).toContainText('completed', { timeout: 30_000 });
  await waitIdle(request);
  expect((await jobs(request, 'trades.sync')).length).toBe(before + 1);
});

test('a failing sync shows its error and Retry runs it again', async ({ page, request, baseURL }) => {
  await waitIdle(request);
  // A sync of the configured gateway `dead` (a port nobody listens on) fails like a
  // gateway that is down.
  // The signed-in operator's cookie travels with these calls; state changes also need the
  // page's origin (the server's CSRF check).
  const origin = { origin: new URL(baseURL!).origin };
  const res = await request.post('/api/v1/jobs', { data: { type: 'trades.sync', payload: { gateway: 'dead' } }, headers: origin });
  expect(res.status()).toBe(202);
  const job = await res.json();
  await expect.poll(async () => (await (await request.get(`/api/v1/jobs/${job.id}`)).json()).state,
    { timeout: 30_000 }).toBe('retryable');
  await page.goto('/trades');
  await expect(page.locator('body')).toHaveAttribute('data-hydrated', 'true');
  const status = page.getByTestId('sync-status');
  await expect(status).toContainText('could not connect to IB Gateway at 127.0.0.1:1');
  await page.getByRole('button', { name: 'Retry' }).click();
  await expect.poll(async () => {
    const j = await (await request.get(`/api/v1/jobs/${job.id}`)).json();
    return j.attempt >= 1 && j.state === 'retryable' && j.error?.includes('127.0.0.1:1');
  }, { timeout: 30_000 }).toBeTruthy();
  await expect(status).toContainText('failed');
  await page.screenshot({ path: 'test-results/story-failed-sync.png', fullPage: true });
  // Leave nothing retrying for the other tests.
  const cancelled = await request.post(`/api/v1/jobs/${job.id}/cancel`, { data: {}, headers: origin });
  expect(cancelled.status()).toBe(200);
});
