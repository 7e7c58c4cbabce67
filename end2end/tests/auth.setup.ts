// First run, as a new operator meets Fillbook: every page leads to the setup page; the
// setup token (printed on the server's console) creates the first administrator, who is
// signed in; signing out really ends the session; a wrong password is refused; API tokens
// are made in the UI, shown once, scoped and revocable; the password is changed from the
// menu. Saves the signed-in state that the
// other tests (the operator story among them) run with.
import { test as setup, expect, request as playwrightRequest } from '@playwright/test';
import { STORAGE } from '../playwright.config';

const PASSWORD = 'e2e admin password';
const NEW_PASSWORD = 'e2e admin password, changed';

setup('setup → sign out → sign in; API tokens from the UI', async ({ page, context, baseURL }) => {
  // Any page leads to first-run setup while no operator exists.
  await page.goto('/trades');
  await expect(page).toHaveURL(/\/setup$/);
  await expect(page.getByRole('heading', { name: 'Set up Fillbook' })).toBeVisible();
  await page.getByLabel('Setup token').fill('not the token');
  await page.getByLabel('User name').fill('admin');
  await page.getByLabel(/^Password/).fill(PASSWORD);
  await page.getByLabel('Repeat the password').fill(PASSWORD);
  await page.getByRole('button', { name: 'Create administrator' }).click();
  await expect(page.getByRole('alert')).toContainText('setup token is wrong');

  await page.getByLabel('Setup token').fill(process.env.E2E_SETUP_TOKEN!);
  await page.getByLabel(/^Password/).fill(PASSWORD);
  await page.getByLabel('Repeat the password').fill(PASSWORD);
  await page.getByRole('button', { name: 'Create administrator' }).click();
  await expect(page).toHaveURL(/\/trades$/);
  await expect(page.locator('body')).toHaveAttribute('data-hydrated', 'true');
  await expect(page.getByTestId('signed-in-as')).toHaveText('admin');
  await page.screenshot({ path: 'test-results/auth-after-setup.png', fullPage: true });

  // Setup cannot run twice.
  await page.goto('/setup');
  await expect(page).toHaveURL(/\/login$/);

  // Signing out ends the session on the server: the old cookie no longer works.
  await page.goto('/jobs');
  const before = await context.cookies();
  await page.getByRole('button', { name: 'Sign out' }).click();
  await expect(page).toHaveURL(/\/login$/);
  await context.addCookies(before);
  await page.goto('/jobs');
  await expect(page).toHaveURL(/\/login\?next=%2Fjobs$/);

  // A wrong password is refused; the right one signs in and goes where we were going.
  await page.getByLabel('User name').fill('admin');
  await page.getByLabel('Password').fill('not the password');
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect(page.getByRole('alert')).toContainText('wrong user name or password');
  await page.getByLabel('Password').fill(PASSWORD);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect(page).toHaveURL(/\/jobs$/);
  await expect(page.getByRole('heading', { level: 1, name: 'Jobs' })).toBeVisible();

  // An API token for a bot: made in the UI, shown once, scoped, revocable.
  await page.getByRole('link', { name: 'API tokens' }).click();
  await expect(page.getByRole('heading', { level: 1, name: 'API tokens' })).toBeVisible();
  await page.getByLabel('Name').fill('e2e bot');
  await page.getByRole('checkbox', { name: /trades:read/ }).check();
  await page.getByRole('button', { name: 'Create token' }).click();
  const token = (await page.getByTestId('new-token').innerText()).trim();
  expect(token).toMatch(/^fb_[0-9a-f]{64}$/);
  const bot = await playwrightRequest.newContext({ baseURL, extraHTTPHeaders: { Authorization: `Bearer ${token}` } });
  expect((await bot.get('/api/v1/trades')).status()).toBe(200);
  expect((await bot.get('/api/v1/positions')).status()).toBe(403);
  await page.getByRole('link', { name: 'Back to API tokens' }).click();
  await expect(page.getByRole('cell', { name: 'e2e bot', exact: true })).toBeVisible();
  await expect(page.getByText(token)).toHaveCount(0);
  await page.getByRole('button', { name: 'Revoke token e2e bot' }).click();
  await expect(page.getByRole('cell', { name: 'revoked', exact: true })).toBeVisible();
  expect((await bot.get('/api/v1/trades')).status()).toBe(401);
  await bot.dispose();

  // The operator changes their password from the menu: other sessions end, this browser
  // stays signed in.
  await page.getByTestId('signed-in-as').click();
  await expect(page.getByRole('heading', { level: 1, name: 'Change your password' })).toBeVisible();
  await page.getByLabel('Current password').fill('not the password');
  await page.getByLabel(/^New password/).fill(NEW_PASSWORD);
  await page.getByLabel('Repeat the new password').fill(NEW_PASSWORD);
  await page.getByRole('button', { name: 'Change password' }).click();
  await expect(page.getByRole('alert')).toContainText('the current password is wrong');
  await page.getByLabel('Current password').fill(PASSWORD);
  await page.getByLabel(/^New password/).fill(NEW_PASSWORD);
  await page.getByLabel('Repeat the new password').fill(NEW_PASSWORD);
  await page.getByRole('button', { name: 'Change password' }).click();
  await expect(page.getByRole('status')).toContainText('Your password was changed');
  await page.getByRole('link', { name: 'Back to Fillbook' }).click();
  await expect(page.getByTestId('signed-in-as')).toHaveText('admin');

  // The audit log shows what happened.
  await page.getByRole('link', { name: 'Audit log' }).click();
  await expect(page.getByRole('heading', { level: 1, name: 'Audit log' })).toBeVisible();
  for (const action of ['setup.completed', 'logout', 'login.failed', 'login.succeeded', 'token.created', 'token.revoked', 'password.changed']) {
    await expect(page.getByRole('cell', { name: action, exact: true }).first()).toBeVisible();
  }
  await page.screenshot({ path: 'test-results/auth-audit.png', fullPage: true });

  await context.storageState({ path: STORAGE });
});
