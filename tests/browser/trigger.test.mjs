// Trigger and Email Survey as a newcomer tries it from `insight demo`: the
// second demo account's survey is triggered by a closed Case in the
// emulator's sandbox org. Close a Case in the record browser, read the
// invitation on the demo's mail page, answer it, and find the score written
// back on that Case.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startedForTests, startDemo, snap, signIn } from './harness.mjs';

const run = startedForTests(startDemo);

/** Polls (a bounded while, no speed claim) until `probe` returns a value. */
async function eventually(what, probe) {
  for (let i = 0; i < 300; i++) {
    const v = await probe();
    if (v) return v;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`never: ${what}`);
}

test('closing a Case mails its contact a personal survey, and the answer lands on the Case', async () => {
  const base = run.demo.url;
  const ops = run.demo.logins.find((l) => l.role === 'trigger_owner');
  assert.ok(ops && run.demo.trigger && run.demo.mailPage && run.demo.tryIt, 'the demo announces the trigger, its owner and the mail page');
  const context = await run.browser.newContext();
  const page = await context.newPage();

  // The owner finds the trigger beside Response Mapping.
  await signIn(page, base, ops);
  await page.goto(`${base}${ops.project.replace('/trigger', '')}`);
  await page.click('#trigger-link');
  await page.waitForURL(/\/salesforce\/trigger$/);
  assert.equal((await page.textContent('#endpoint-url')).trim(), run.demo.trigger.endpoint_url);
  assert.match(await page.textContent('#accepts-org'), new RegExp(run.demo.trigger.org_id));
  assert.match(await page.textContent('#instructions'), /Outbound Message/);
  await snap(page, 'trigger-01-page');

  // In Salesforce (the emulator's record browser), a person closes a Case.
  const sf = await context.newPage();
  await sf.goto(run.demo.tryIt.url);
  await sf.click('table a >> nth=0');
  const caseId = sf.url().split('/').pop();
  await sf.selectOption('select[name="Status"]', 'Closed');
  await sf.click('button:has-text("Save")');
  await sf.waitForURL(new RegExp(caseId));

  // The invitation arrives; the mail page shows it.
  const mail = await context.newPage();
  await eventually('the invitation on the mail page', async () => {
    await mail.goto(run.demo.mailPage.url);
    return (await mail.locator(`#mail-list tr:has(td.to:text("${run.demo.tryIt.recipient}"))`).count()) > 0;
  });
  await mail.click(`#mail-list tr:has(td.to:text("${run.demo.tryIt.recipient}")) a`);
  await snap(mail, 'trigger-02-mail');
  assert.match(await mail.textContent('h1'), /case \d{8}\?/, 'the subject names the Case by its number');
  const link = await mail.locator('#mail-text a[href*="/i/"]').first().getAttribute('href');
  assert.ok(link.startsWith(base), link);

  // The customer answers.
  const customer = await run.browser.newContext();
  const survey = await customer.newPage();
  await survey.goto(link);
  await survey.check('.nps input[value="9"]');
  await snap(survey, 'trigger-03-survey');
  await survey.click('button:has-text("Submit")');
  await survey.locator('#thanks').waitFor();
  // A second visit is told kindly that it was answered.
  await survey.goto(link);
  await survey.locator('#answered-before').waitFor();

  // The score is written back onto the Case that triggered it.
  const admin = run.demo.emulator.admin_url;
  const score = await eventually('the score on the Case', async () => {
    const all = await (await fetch(`${admin}/orgs/${run.demo.trigger.org_id}/records/Case`)).json();
    const c = all.records.find((r) => r.Id === caseId);
    return c && c.Survey_Score__c;
  });
  assert.equal(score, 9);

  // The invitation log tells the story.
  await page.reload();
  assert.match(await page.textContent('#log-table'), /responded/);
  await snap(page, 'trigger-04-log');
  await customer.close();
  await context.close();
});
