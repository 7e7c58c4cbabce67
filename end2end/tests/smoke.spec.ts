// Smoke tests of the app shell: every page renders and hydrates without errors, the
// interaction works without a reload, JavaScript-less rendering works, 404 is a 404.
import { test, expect, Page } from '@playwright/test';

const PAGES: Array<[string, string]> = [
  ['/trades', 'Trades'],
  ['/orders', 'Orders'],
  ['/positions', 'Positions'],
  ['/jobs', 'Jobs'],
  ['/imports', 'Statement imports'],
  ['/accounts', 'Accounts'],
  ['/tokens', 'API tokens'],
  ['/audit', 'Audit log'],
];

/** Collects console errors, page errors, failed requests and HTTP errors. */
function watchProblems(page: Page): string[] {
  const problems: string[] = [];
  page.on('console', (m) => { if (m.type() === 'error') problems.push(`console: ${m.text()}`); });
  page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
  page.on('requestfailed', (r) => problems.push(`failed: ${r.url()} ${r.failure()?.errorText}`));
  page.on('response', (r) => { if (r.status() >= 400) problems.push(`${r.status()}: ${r.url()}`); });
  return problems;
}

for (const [path, title] of PAGES) {
  test(`${path} renders, hydrates and logs no errors`, async ({ page }) => {
    const problems = watchProblems(page);
    const response = await page.goto(path);
    expect(response?.status()).toBe(200);
    await expect(page.getByRole('heading', { level: 1, name: title })).toBeVisible();
    await expect(page.locator('body')).toHaveAttribute('data-hydrated', 'true');
    await expect(page.getByRole('navigation', { name: 'Primary' })).toBeVisible();
    await page.screenshot({ path: `test-results/page${path.replace(/\//g, '-')}.png`, fullPage: true });
    expect(problems).toEqual([]);
  });
}

test('hydrated: Refresh updates the page in place, without a reload', async ({ page }) => {
  const problems = watchProblems(page);
  await page.goto('/accounts');
  await expect(page.locator('body')).toHaveAttribute('data-hydrated', 'true');
  await page.evaluate(() => { (window as any).__sameDocument = 42; });
  await expect(page.getByRole('status')).toHaveText('');
  await page.getByRole('button', { name: 'Refresh' }).click();
  await expect(page.getByRole('status')).toHaveText('Refreshed');
  expect(await page.evaluate(() => (window as any).__sameDocument)).toBe(42);
  expect(problems).toEqual([]);
});

test('hydrated: navigation is client-side', async ({ page }) => {
  await page.goto('/trades');
  await expect(page.locator('body')).toHaveAttribute('data-hydrated', 'true');
  await page.evaluate(() => { (window as any).__sameDocument = 7; });
  await page.getByRole('link', { name: 'Jobs' }).click();
  await expect(page).toHaveURL(/\/jobs$/);
  await expect(page.getByRole('heading', { level: 1, name: 'Jobs' })).toBeVisible();
  await expect(page.locator('.empty-state, table.data').first()).toBeVisible();
  expect(await page.evaluate(() => (window as any).__sameDocument)).toBe(7);
});

test.describe('without JavaScript', () => {
  test.use({ javaScriptEnabled: false });

  // The shell checks below accept an empty state; this one proves rows render: a sync
  // posted by the plain form, then the pages that list what it wrote.
  test('a form-posted sync fills the trades, jobs and accounts tables', async ({ page }) => {
    await page.goto('/trades');
    await page.getByRole('button', { name: 'Sync now' }).click();
    await expect(async () => {
      await page.goto('/jobs');
      await expect(page.locator('table.data tbody tr', { hasText: 'completed' }).first()).toBeVisible({ timeout: 1_000 });
    }).toPass({ timeout: 30_000 });
    for (const path of ['/trades', '/accounts']) {
      await page.goto(path);
      expect(await page.locator('table.data tbody tr').count(), path).toBeGreaterThan(0);
    }
  });

  for (const [path, title] of PAGES) {
    test(`${path} still shows its content`, async ({ page }) => {
      await page.goto(path);
      await expect(page.getByRole('heading', { level: 1, name: title })).toBeVisible();
      await expect(page.locator('.empty-state, table.data').first()).toBeVisible();
      await expect(page.locator('body')).not.toHaveAttribute('data-hydrated', 'true');
    });
  }
});

test('an unknown address answers 404 with a helpful page', async ({ page }) => {
  const response = await page.goto('/no/such/page');
  expect(response?.status()).toBe(404);
  await expect(page.getByRole('heading', { name: 'Page not found' })).toBeVisible();
  await expect(page.getByRole('link', { name: 'Go to the trades' })).toBeVisible();
});

test('the API reference renders under the Content-Security-Policy', async ({ page }) => {
  const problems = watchProblems(page);
  const response = await page.goto('/api/docs');
  expect(response?.headers()['content-security-policy']).toContain("frame-ancestors 'none'");
  await expect(page.locator('section.op').first()).toBeVisible();
  await expect(page.getByRole('heading', { name: 'Schemas' })).toBeVisible();
  expect(problems).toEqual([]);
});

test('pages send a nonce policy and still hydrate (no violations logged)', async ({ page }) => {
  const violations: string[] = [];
  page.on('console', (m) => { if (/Content Security Policy/i.test(m.text())) violations.push(m.text()); });
  const response = await page.goto('/trades');
  expect(response?.headers()['content-security-policy']).toMatch(/script-src 'self' 'nonce-[^']+' 'wasm-unsafe-eval'/);
  expect(response?.headers()['x-frame-options']).toBe('DENY');
  await expect(page.locator('body')).toHaveAttribute('data-hydrated', 'true');
  expect(violations).toEqual([]);
});

test.describe('on a phone', () => {
  test.use({ viewport: { width: 390, height: 844 } });
  for (const [path, title] of PAGES) {
    test(`${path} fits the width (wide tables scroll inside themselves)`, async ({ page }) => {
      await page.goto(path);
      await expect(page.getByRole('heading', { level: 1, name: title })).toBeVisible();
      await expect(page.getByRole('navigation', { name: 'Primary' })).toBeVisible();
      const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
      expect(overflow).toBeLessThanOrEqual(0);
      await page.screenshot({ path: `test-results/phone${path.replace(/\//g, '-')}.png`, fullPage: true });
    });
  }
});
