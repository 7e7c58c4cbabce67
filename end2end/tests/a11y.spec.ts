// Accessibility: axe-core scan of each page; no serious or critical violations. The
// account page is plain server HTML (no hydration to wait for).
import { test, expect } from '@playwright/test';
import AxeBuilder from '@axe-core/playwright';

const SERVER_ONLY = new Set(['/account/password']);

for (const path of ['/trades', '/orders', '/positions', '/reconciliation', '/jobs', '/imports', '/accounts', '/tokens', '/audit', '/account/password', '/no/such/page']) {
  test(`axe: ${path} has no serious or critical violations`, async ({ page }) => {
    await page.goto(path);
    if (!SERVER_ONLY.has(path)) await page.waitForSelector('body[data-hydrated]');
    const results = await new AxeBuilder({ page }).analyze();
    const bad = results.violations
      .filter((v) => v.impact === 'serious' || v.impact === 'critical')
      .map((v) => `${v.id} (${v.impact}): ${v.help} — ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`);
    expect(bad).toEqual([]);
  });
}
