// A newcomer's first response lands on a real record: from `insight demo`,
// the owner links the sandbox org, builds a mapping with the pickers — the
// Case named by the survey link's case_id gets the score — dry-runs it, and
// the demo's printed sample link (signed, naming a Case the sandbox holds)
// is answered. The Case in the emulator then carries the score.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startedForTests, startDemo, snap, signIn } from './harness.mjs';

const run = startedForTests(startDemo);

test('the demo sample link names a sandbox Case, and a newcomer\'s first answer lands on it', async () => {
  const base = run.demo.url;
  const owner = run.demo.logins.find((l) => l.role === 'owner');
  const sandboxLogin = run.demo.salesforceLogins.find((l) => l.environment === 'sandbox');
  const sandboxOrg = run.demo.salesforceOrgs.find((o) => o.environment === 'sandbox');
  assert.ok(run.demo.survey && run.demo.survey.case_id, 'the demo prints a sample link with a Case id');

  const context = await run.browser.newContext();
  const page = await context.newPage();
  await signIn(page, base, owner);
  await page.click('#projects a');
  await page.waitForURL(/\/survey$/);
  const project = page.url().replace(/\/survey$/, '');
  await page.goto(`${base}/salesforce/link?return_to=${encodeURIComponent(new URL(project).pathname + '/salesforce')}`);
  await page.check('#sandbox');
  await page.click('button:has-text("Sign In")');
  await page.locator('#login_form').waitFor();
  await page.fill('#username', sandboxLogin.username);
  await page.fill('#password', sandboxLogin.password);
  await page.click('#Login');
  await page.click('#oaapprove');
  await page.waitForURL(new RegExp(`^${base}/salesforce\\?linked=1`));
  await page.goto(`${project}/salesforce`);

  // Case, picked from the org's list; updated where the signed link points.
  await page.click('#add-mapping a:has-text("Add a mapping")');
  await page.fill('#pick-object input[name=q]', 'case');
  await page.selectOption('#object-picker', 'Case');
  await page.click('button:has-text("Next")');
  await page.check('#action-update input[value=update]');
  await page.selectOption('#action-update select[name=record_id]', 'embedded:case_id');
  await page.click('button:has-text("Add mapping")');
  const form = page.locator('[data-mapping="0"] form.add-rule');
  await form.locator('select[name=source]').selectOption('answer:q1');
  await form.locator('select[name=field]').selectOption('Survey_Score__c');
  await form.locator('button:has-text("Add field")').click();
  await page.locator('[data-mapping="0"] [data-testid=mapping-fits]').waitFor();

  await page.click('#dry-run-link a');
  await page.locator('[data-object=Case] [data-testid=key]').waitFor();
  await snap(page, 'first-01-dry-run-case');

  // The respondent opens the very link the demo printed.
  const respondentContext = await run.browser.newContext();
  const respondent = await respondentContext.newPage();
  await respondent.goto(run.demo.survey.url);
  await respondent.check('fieldset[data-question-id=q1] input[value="8"]');
  await respondent.check('fieldset[data-question-id=q2] input[value="Fully resolved"]');
  await respondent.click('button:has-text("Submit")');
  await respondent.locator('#thanks').waitFor();
  await respondentContext.close();

  const admin = run.demo.emulator.admin_url;
  let score = null;
  for (let i = 0; i < 100 && score === null; i++) {
    const res = await fetch(`${admin}/orgs/${sandboxOrg.id}/records/Case`);
    const { records } = await res.json();
    const c = records.find((r) => r.Id === run.demo.survey.case_id);
    assert.ok(c, 'the Case the link names exists in the sandbox');
    score = c.Survey_Score__c ?? null;
    if (score === null) await new Promise((r) => setTimeout(r, 100));
  }
  assert.equal(score, 8);
  await context.close();
});
