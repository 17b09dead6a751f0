// A Contact matched by the respondent's email, and a Survey_Response__c
// pointing to it, built with the pickers on the demo's survey: the match
// and its field from the org's describe, the lookup offered as "the Contact
// record written for the response", a dry run, then a real answer through
// the demo's signed link. Both records are found in the emulator, the
// lookup set; the response's page links each record. Then an admin
// deletes a mapped field: the check flags it, a new answer is held, and
// once the field is restored it is delivered.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startedForTests, startDemo, snap, signIn } from './harness.mjs';

const run = startedForTests(startDemo);

async function records(org, object) {
  const res = await fetch(`${run.demo.emulator.admin_url}/orgs/${org}/records/${object}`);
  return (await res.json()).records;
}

async function eventually(what, probe) {
  for (let i = 0; i < 150; i++) {
    const found = await probe();
    if (found) return found;
    await new Promise((r) => setTimeout(r, 100));
  }
  assert.fail(`never: ${what}`);
}

test('a Contact match and a related record, built with the pickers, land in the org with the lookup set', async () => {
  const base = run.demo.url;
  const owner = run.demo.logins.find((l) => l.role === 'owner');
  const sandboxLogin = run.demo.salesforceLogins.find((l) => l.environment === 'sandbox');
  const sandboxOrg = run.demo.salesforceOrgs.find((o) => o.environment === 'sandbox');

  const context = await run.browser.newContext();
  const page = await context.newPage();
  await signIn(page, base, owner);
  await page.click('#projects a');
  await page.waitForURL(/\/survey$/);
  const project = page.url().replace(/\/survey$/, '');

  // A Contact needs a last name: the survey asks for it.
  const form = page.locator('#add-question form');
  await form.locator('select[name=type]').selectOption('text');
  await form.locator('input[name=text]').fill('Your last name');
  await form.locator('button:has-text("Add question")').click();
  await page.locator('.question .qtext', { hasText: 'Your last name' }).first().waitFor();

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

  // 1. The Contact whose Email is the respondent's email, or a new one.
  await page.click('#add-mapping a:has-text("Add a mapping")');
  await page.fill('#pick-object input[name=q]', 'contact');
  await page.selectOption('#object-picker', 'Contact');
  await page.click('button:has-text("Next")');
  await page.check('#action-match input[value=match]');
  await page.selectOption('#action-match select[name=match_field]', 'Email');
  await page.selectOption('#action-match select[name=match_source]', { label: 'Answer: Your email, if we may follow up' });
  await page.selectOption('#action-match select[name=when_none]', 'create');
  await snap(page, 'related-01-match');
  await page.click('button:has-text("Add mapping")');
  const contact = page.locator('[data-mapping="0"] form.add-rule');
  await contact.locator('select[name=source]').selectOption({ label: 'Answer: Your last name' });
  await contact.locator('select[name=field]').selectOption('LastName');
  await contact.locator('input[name=cut]').check();
  await contact.locator('button:has-text("Add field")').click();
  await page.locator('[data-mapping="0"] [data-testid=mapping-fits]').waitFor();

  // 2. One Survey_Response__c per response, pointing to that Contact.
  await page.click('#add-mapping a:has-text("Add a mapping")');
  await page.fill('#pick-object input[name=q]', 'survey resp');
  await page.selectOption('#object-picker', 'Survey_Response__c');
  await page.click('button:has-text("Next")');
  await page.selectOption('#choose-action select[name=key_field]', 'External_Id__c');
  await page.click('button:has-text("Add mapping")');
  const response = page.locator('[data-mapping="1"] form.add-rule');
  await response.locator('select[name=source]').selectOption('answer:q1');
  await response.locator('select[name=field]').selectOption('Score__c');
  await response.locator('button:has-text("Add field")').click();
  await page.locator('[data-mapping="1"] form.add-rule').waitFor();
  await page.locator('[data-mapping="1"] form.add-rule select[name=source]').selectOption('record_of:Contact');
  // Only a lookup to Contact can take it: other fields say why not.
  const other = page.locator('[data-mapping="1"] form.add-rule select[name=field] option[value=Survey_Name__c]');
  assert.equal(await other.isDisabled(), true);
  await page.locator('[data-mapping="1"] form.add-rule select[name=field]').selectOption('Contact__c');
  await page.locator('[data-mapping="1"] form.add-rule button:has-text("Add field")').click();
  await page.locator('[data-mapping="1"] tr[data-rule=Contact__c]').waitFor();
  await page.locator('[data-mapping="1"] [data-testid=mapping-fits]').waitFor();
  await snap(page, 'related-02-mappings');

  // The dry run shows both records, the Contact found by its Email.
  await page.click('#dry-run-link a');
  await page.locator('[data-object=Contact] [data-testid=key]').waitFor();
  const lookup = await page.locator('[data-object=Survey_Response__c] tr[data-field=Contact__c]').textContent();
  assert.match(lookup, /Contact record written for the response/);
  await snap(page, 'related-03-dry-run');

  // A respondent answers through the demo's signed link.
  const email = `pat.${Date.now()}@example.com`;
  const respondentContext = await run.browser.newContext();
  const respondent = await respondentContext.newPage();
  await respondent.goto(run.demo.survey.url);
  await respondent.check('fieldset[data-question-id=q1] input[value="9"]');
  await respondent.check('fieldset[data-question-id=q2] input[value="Fully resolved"]');
  await respondent.locator('fieldset', { hasText: 'Your email' }).locator('input').fill(email);
  await respondent.locator('fieldset', { hasText: 'Your last name' }).locator('input').fill('Pattison');
  await respondent.click('button:has-text("Submit")');
  await respondent.locator('#thanks').waitFor();
  await respondentContext.close();

  const created = await eventually('the Contact is created', async () => (await records(sandboxOrg.id, 'Contact')).find((c) => c.Email === email));
  assert.equal(created.LastName, 'Pattison');
  const written = await eventually('the response record points to it', async () => (await records(sandboxOrg.id, 'Survey_Response__c')).find((r) => r.Contact__c === created.Id));
  assert.equal(written.Score__c, 9);

  // The response's page says it was delivered and links both records.
  await page.goto(`${project}/responses`);
  await page.locator('table a').first().click();
  await page.locator('[data-testid=delivery-headline]', { hasText: 'Delivered' }).waitFor();
  assert.equal(await page.locator(`#delivery a:has-text("${created.Id}")`).count(), 1);
  await snap(page, 'related-04-response');

  // An admin deletes the mapped Score__c in Salesforce: the check flags the
  // mapping, and a new answer is held, not lost and not failed.
  const schema = `${run.demo.emulator.admin_url}/orgs/${sandboxOrg.id}/schema/Survey_Response__c`;
  assert.equal((await fetch(`${schema}/fields/Score__c`, { method: 'DELETE' })).ok, true);
  await page.goto(`${project}/salesforce`);
  await page.click('button:has-text("Check Salesforce fields now")');
  await page.locator('[data-testid=schema-drift]').waitFor();
  assert.match(await page.locator('[data-testid=drifted-mapping]').first().textContent(), /Score__c/);
  await snap(page, 'related-05-drift');
  const held = `held.${Date.now()}@example.com`;
  const later = await run.browser.newContext();
  const again = await later.newPage();
  await again.goto(run.demo.survey.url);
  await again.check('fieldset[data-question-id=q1] input[value="4"]');
  await again.check('fieldset[data-question-id=q2] input[value="Not resolved"]');
  await again.locator('fieldset', { hasText: 'Your email' }).locator('input').fill(held);
  await again.locator('fieldset', { hasText: 'Your last name' }).locator('input').fill('Holden');
  await again.click('button:has-text("Submit")');
  await again.locator('#thanks').waitFor();
  await later.close();
  await page.goto(`${project}/salesforce`);
  await eventually('the answer is held', async () => {
    await page.reload();
    return (await page.locator('[data-testid=held]').textContent()).startsWith('1 ');
  });
  assert.equal((await records(sandboxOrg.id, 'Contact')).some((c) => c.Email === held), false, 'nothing written while held');

  // The admin restores the field; the next check sends what was held.
  assert.equal((await fetch(`${schema}/restore`, { method: 'POST' })).ok, true);
  await new Promise((r) => setTimeout(r, 10_500)); // a check within 10 s of the last is refused
  await page.click('button:has-text("Check Salesforce fields now")');
  await page.locator('[data-testid=schema-fits]').waitFor();
  const heldContact = await eventually('the held answer is delivered', async () => (await records(sandboxOrg.id, 'Contact')).find((c) => c.Email === held));
  const heldRecord = await eventually('with its related record', async () => (await records(sandboxOrg.id, 'Survey_Response__c')).find((r) => r.Contact__c === heldContact.Id));
  assert.equal(heldRecord.Score__c, 4);
  await context.close();
});
