// Linking Salesforce as a new user would, against the demo's Salesforce
// emulator: My Projects → a project → Survey → Tools → Salesforce → Setup
// Link → tick Sandbox → Sign In → the emulator's login page → consent → back,
// linked, with the org and username shown. Signing in again forces the login
// page even though the browser now holds a Salesforce session. Responses are
// mapped into the sandbox; relinking to production previews the survey it
// pauses, and its transition re-enables it. A colleague who was shared the
// project sees that it uses the owner's link.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startedForTests, startDemo, snap, signIn } from './harness.mjs';

const run = startedForTests(startDemo);

async function signInAtSalesforce(page, { username, password }) {
  await page.locator('#login_form').waitFor();
  await page.fill('#username', username);
  await page.fill('#password', password);
  await page.click('#Login');
  // As Salesforce's, the login answers with a page whose script goes on to the approval
  // page (or, for an app already approved, back to Insight): wait until it has left.
  await page.waitForURL((u) => u.pathname !== '/' && u.pathname !== '/sandbox/');
  await page.waitForLoadState('load');
}

test('an owner links a sandbox from a survey, and a collaborator sees the owner\'s link', async () => {
  const base = run.demo.url;
  const owner = run.demo.logins.find((l) => l.role === 'owner');
  const viewer = run.demo.logins.find((l) => l.role === 'viewer');
  const sandboxLogin = run.demo.salesforceLogins.find((l) => l.environment === 'sandbox');
  const sandboxOrg = run.demo.salesforceOrgs.find((o) => o.environment === 'sandbox');

  const context = await run.browser.newContext();
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

  // Map responses into the sandbox: each rule is checked against its describe.
  await page.goto(`${base}/projects`);
  await page.click('#projects a');
  await page.click('#tools-menu summary');
  await page.click('#tools-menu a:has-text("Salesforce status of this project")');
  const projectPanel = page.url();
  // The object is picked from the org's own list: typing filters it.
  await page.click('#add-mapping a:has-text("Add a mapping")');
  await page.fill('#pick-object input[name=q]', 'survey resp');
  assert.equal(await page.locator('#object-picker option[value=Contact]').isHidden(), true);
  await page.selectOption('#object-picker', 'Survey_Response__c');
  await page.click('button:has-text("Next")');
  // The key is one of the object's external ids, filled by Insight.
  await page.selectOption('#choose-action select[name=key_field]', 'External_Id__c');
  await snap(page, 'sf-05a-mapping-picked');
  await page.click('button:has-text("Add mapping")');
  await page.locator('[data-mapping="0"] [data-testid=upsert-key]').waitFor();
  for (const [field, source] of [['Score__c', 'answer:q1'], ['Comment__c', 'answer:q5']]) {
    const form = page.locator('[data-mapping="0"] form.add-rule');
    await form.locator('select[name=source]').selectOption(source);
    await form.locator('select[name=field]').selectOption(field);
    await form.locator('button:has-text("Add field")').click();
    await page.locator(`[data-mapping="0"] tr[data-rule="${field}"]`).waitFor();
  }
  // A field that cannot take the chosen value is greyed out, with the reason.
  const addRule = page.locator('[data-mapping="0"] form.add-rule');
  await addRule.locator('select[name=source]').selectOption('answer:q5');
  const responded = addRule.locator('select[name=field] option[value=Responded_At__c]');
  assert.equal(await responded.isDisabled(), true);
  assert.ok((await responded.textContent()).includes('cannot take it'));
  await page.locator('[data-testid=mapping-fits]').waitFor();
  await snap(page, 'sf-05-mapping-fits-sandbox');
  // A dry run shows the record a response would write, and writes nothing.
  await page.click('#dry-run-link a');
  await page.locator('[data-object=Survey_Response__c] [data-testid=key]').waitFor();
  assert.ok((await page.locator('[data-object=Survey_Response__c] tr[data-field=Score__c]').textContent()).includes('9'));
  await snap(page, 'sf-05b-dry-run');
  await page.goto(projectPanel);

  // Relinking to the production org first shows what the switch affects;
  // cancelling keeps the sandbox link.
  const productionLogin = run.demo.salesforceLogins.find((l) => l.environment === 'production');
  const relinkToProduction = async () => {
    await page.goto(`${base}/salesforce/link`);
    await page.click('button:has-text("Sign In")');
    await signInAtSalesforce(page, productionLogin);
    if (await page.locator('#oaapprove').count()) await page.click('#oaapprove');
    await page.waitForURL(`${base}/salesforce/switch`);
  };
  await relinkToProduction();
  assert.ok((await page.locator('[data-testid=switch-from]').textContent()).includes('Acme Sandbox'));
  assert.ok((await page.locator('[data-testid=switch-to]').textContent()).includes('Acme Production'));
  assert.equal(await page.locator('#affected-projects tbody tr[data-disrupted=true]').count(), 1);
  assert.ok((await page.locator('#affected-projects').textContent()).includes('Survey_Response__c'));
  await snap(page, 'sf-06-switch-preview');
  await page.click('button:has-text("Cancel")');
  await page.waitForURL(`${base}/salesforce`);
  assert.equal((await page.locator('[data-testid=org-name]').textContent()).trim(), 'Acme Sandbox');

  // Switch for real: the survey is paused until its transition.
  await relinkToProduction();
  await page.click('button:has-text("Switch to Acme Production")');
  await page.waitForURL(new RegExp(`^${base}/salesforce`));
  assert.equal(await page.locator('#paused-surveys li').count(), 1);
  await page.goto(projectPanel);
  await page.locator('[data-testid=disrupted]').waitFor();
  await snap(page, 'sf-07-paused-until-transition');
  await page.click('button:has-text("Re-enable with Acme Production")');
  await page.getByText('Re-enabled').waitFor();
  await page.locator('[data-testid=uses-link]').waitFor();
  await snap(page, 'sf-08-transitioned');

  // A respondent answers; the response lands in production as a record.
  const respondentContext = await run.browser.newContext();
  const respondent = await respondentContext.newPage();
  await page.goto(projectPanel.replace(/\/salesforce$/, '/survey'));
  const link = (await page.locator('#survey-link').textContent()).trim();
  await respondent.goto(`${link}?case_id=5003000000D8cuIAAR`);
  await respondent.check('fieldset[data-question-id=q1] input[value="10"]');
  await respondent.check('fieldset[data-question-id=q2] input[value="Fully resolved"]');
  await respondent.fill('fieldset[data-question-id=q5] textarea', 'Resolved in one call.');
  await respondent.click('button:has-text("Submit")');
  await respondent.locator('#thanks').waitFor();
  await respondentContext.close();
  await page.goto(projectPanel.replace(/\/salesforce$/, '/responses'));
  for (let i = 0; i < 100 && (await page.locator('td[data-delivery=delivered]').count()) === 0; i++) {
    await page.waitForTimeout(100);
    await page.reload();
  }
  assert.equal(await page.locator('td[data-delivery=delivered]').count(), 1);
  await page.click('#responses tbody tr a');
  await page.locator('[data-testid=record-id]').waitFor();
  await snap(page, 'sf-09-delivered-record');

  // The colleague the project is shared with sees it uses the owner's link.
  const colleagueContext = await run.browser.newContext();
  const colleague = await colleagueContext.newPage();
  await signIn(colleague, base, viewer);
  await colleague.click('#projects a');
  await colleague.click('#tools-menu summary');
  await colleague.click('#tools-menu a:has-text("Salesforce status of this project")');
  const panel = await colleague.locator('[data-testid=uses-link]').textContent();
  const productionOrg = run.demo.salesforceOrgs.find((o) => o.environment === 'production');
  assert.ok(panel.includes('Dana Demo') && panel.includes('Acme Production') && panel.includes(productionOrg.id), panel);
  assert.equal(await colleague.locator('#add-mapping').count(), 0, 'a viewer cannot edit mappings');
  await snap(colleague, 'sf-10-collaborator-sees-owner-link');

  await Promise.all([context.close(), colleagueContext.close()]);
});
