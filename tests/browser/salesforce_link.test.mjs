// Linking Salesforce as a new user would, against the demo's Salesforce
// emulator: My Projects → a project → Survey → Tools → Salesforce → Setup
// Link → tick Sandbox → Sign In → the emulator's login page → consent → back,
// linked, with the org and username shown. Signing in again forces the login
// page even though the browser now holds a Salesforce session. A colleague
// who was shared the project sees that it uses the owner's link.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startDemo, launchBrowser, snap, signIn } from './harness.mjs';

let demo;
let browser;

before(async () => {
  demo = await startDemo();
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await demo?.stop();
});

async function signInAtSalesforce(page, { username, password }) {
  await page.locator('#login_form').waitFor();
  await page.fill('#username', username);
  await page.fill('#password', password);
  await page.click('#Login');
}

test('an owner links a sandbox from a survey, and a collaborator sees the owner\'s link', async () => {
  const base = demo.url;
  const owner = demo.logins.find((l) => l.role === 'owner');
  const viewer = demo.logins.find((l) => l.role === 'viewer');
  const sandboxLogin = demo.salesforceLogins.find((l) => l.environment === 'sandbox');
  const sandboxOrg = demo.salesforceOrgs.find((o) => o.environment === 'sandbox');

  const context = await browser.newContext();
  const page = await context.newPage();
  await signIn(page, base, owner);
  await page.click('#projects a');
  await page.waitForURL(/\/survey$/);

  // Tools → Salesforce → Setup Link to Salesforce Account.
  await page.click('#tools-menu summary');
  await page.click('#tools-menu a:has-text("Setup Link to Salesforce Account")');
  await page.waitForURL(/\/salesforce\/link/);
  await page.check('#sandbox');
  await snap(page, 'sf-01-setup-link');
  await page.click('button:has-text("Sign In")');

  // The emulator's login page, at the sandbox host.
  await signInAtSalesforce(page, sandboxLogin);
  await snap(page, 'sf-02-consent');
  await page.click('#oaapprove');

  // Back in Insight, on the project's Salesforce panel, linked.
  await page.waitForURL(new RegExp(`^${base}/salesforce\\?linked=1`));
  assert.equal((await page.locator('[data-testid=org-name]').textContent()).trim(), 'Acme Sandbox');
  assert.equal((await page.locator('[data-testid=environment]').textContent()).trim(), 'Sandbox');
  assert.ok((await page.locator('[data-testid=org-id]').textContent()).includes(sandboxOrg.id));
  assert.ok((await page.locator('[data-testid=sf-username]').textContent()).includes(sandboxLogin.username));
  await snap(page, 'sf-03-linked');

  // Signing in again: the browser has a Salesforce session now, and the
  // login page is shown all the same (prompt=login).
  await page.goto(`${base}/salesforce/link`);
  await page.check('#sandbox');
  await page.click('button:has-text("Sign In")');
  await page.locator('#login_form').waitFor();
  await snap(page, 'sf-04-login-forced-again');
  await signInAtSalesforce(page, sandboxLogin);
  await page.waitForURL(new RegExp(`^${base}/salesforce\\?linked=1`));
  assert.equal(await page.locator('#link-events tr[data-kind=relinked]').count(), 1);

  // Test connection.
  await page.click('button:has-text("Test connection")');
  await page.getByText('Connected to Acme Sandbox').waitFor();

  // Relinking to the production org first shows what the switch affects;
  // cancelling keeps the sandbox link.
  const productionLogin = demo.salesforceLogins.find((l) => l.environment === 'production');
  await page.goto(`${base}/salesforce/link`);
  await page.click('button:has-text("Sign In")');
  await signInAtSalesforce(page, productionLogin);
  await page.click('#oaapprove');
  await page.waitForURL(`${base}/salesforce/switch`);
  assert.ok((await page.locator('[data-testid=switch-from]').textContent()).includes('Acme Sandbox'));
  assert.ok((await page.locator('[data-testid=switch-to]').textContent()).includes('Acme Production'));
  assert.equal(await page.locator('#affected-projects tbody tr').count(), 1);
  await snap(page, 'sf-05-switch-preview');
  await page.click('button:has-text("Cancel")');
  await page.waitForURL(`${base}/salesforce`);
  assert.equal((await page.locator('[data-testid=org-name]').textContent()).trim(), 'Acme Sandbox');

  // The colleague the project is shared with sees it uses the owner's link.
  const colleagueContext = await browser.newContext();
  const colleague = await colleagueContext.newPage();
  await signIn(colleague, base, viewer);
  await colleague.click('#projects a');
  await colleague.click('#tools-menu summary');
  await colleague.click('#tools-menu a:has-text("Salesforce status of this project")');
  const panel = await colleague.locator('[data-testid=uses-link]').textContent();
  assert.ok(panel.includes('Dana Demo') && panel.includes('Acme Sandbox') && panel.includes(sandboxOrg.id), panel);
  await snap(colleague, 'sf-06-collaborator-sees-owner-link');

  await Promise.all([context.close(), colleagueContext.close()]);
});
