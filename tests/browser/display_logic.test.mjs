// Display logic as a new user sets it up and a respondent meets it: the
// owner asks a follow-up only of Pro customers, a refused condition comes
// back beside its form as typed, and a respondent sees the follow-up appear
// and disappear as they change their answer, with the progress counting
// only what they are shown. Screenshots at 1280 and 390 px wide.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startedForTests, signUp, addQuestion, snapBoth } from './harness.mjs';

const run = startedForTests();


test('a follow-up question shows only to the respondents it is meant for', async () => {
  const base = run.server.url;
  const owner = await (await run.browser.newContext({ viewport: { width: 1280, height: 800 } })).newPage();
  await signUp(owner, base, { name: 'Olive Owner', email: 'olive@example.com' });
  await owner.fill('#new-project', 'Plan survey');
  await owner.click('button:has-text("Create project")');
  await owner.waitForURL(/\/projects\/\d+\/survey$/);
  const surveyPath = new URL(owner.url()).pathname;

  await addQuestion(owner, { type: 'single_choice', text: 'Which plan are you on?', choices: 'Free\nPro', required: true });
  await addQuestion(owner, { type: 'text', text: 'What made you upgrade?', required: true });
  await addQuestion(owner, { type: 'nps', text: 'How likely are you to recommend us?' });

  // The first question has no earlier answer to depend on.
  assert.equal(await owner.locator('li[data-question-id=q1] details.display-logic').count(), 0);

  // A condition that cannot hold is refused beside the form, as typed.
  const q2 = owner.locator('li[data-question-id=q2]');
  await q2.locator('details.display-logic summary').click();
  await q2.locator('select[name=source]').selectOption('q1');
  await q2.locator('select[name=op]').selectOption('is');
  await q2.locator('input[name=value]').fill('Enterprise');
  await q2.locator('button:has-text("Save display logic")').click();
  const error = owner.locator('li[data-question-id=q2] .logic-form .field-error');
  await error.waitFor();
  assert.match(await error.textContent(), /"Enterprise" is not one of its choices \(Free, Pro\)/);
  assert.equal(await owner.locator('li[data-question-id=q2] input[name=value]').inputValue(), 'Enterprise');
  assert.equal(await owner.locator('li[data-question-id=q2] select[name=source]').inputValue(), 'q1');
  await snapBoth(owner, 'logic-01-refused');

  await owner.locator('li[data-question-id=q2] input[name=value]').fill('Pro');
  await owner.locator('li[data-question-id=q2] button:has-text("Save display logic")').click();
  await owner.waitForURL(/saved=logic/);
  assert.match(await owner.locator('.flash.ok').textContent(), /Display logic saved/);
  assert.match(await owner.locator('li[data-question-id=q2] [data-testid=show-if]').textContent(), /Shown only when Q1 “Which plan are you on\?” is “Pro”/);
  await snapBoth(owner, 'logic-02-saved');

  await owner.goto(`${base}${surveyPath}`);
  await owner.click('button:has-text("Publish survey")');
  await owner.waitForURL(`${base}${surveyPath}?saved=published`);
  const link = (await owner.locator('#survey-link').textContent()).trim();

  // A respondent: the follow-up is hidden until they pick Pro.
  const respondent = await (await run.browser.newContext({ viewport: { width: 1280, height: 800 } })).newPage();
  await respondent.goto(link);
  const followUp = respondent.locator('fieldset[data-question-id=q2]');
  assert.equal(await followUp.isVisible(), false, 'hidden before any answer');
  assert.equal(await respondent.locator('#survey-progress .progress-text').textContent(), '0 of 2 questions answered');
  assert.match(await respondent.locator('fieldset[data-question-id=q3] legend').textContent(), /^2\. How likely/);
  await respondent.check('fieldset[data-question-id=q1] input[value="Pro"]');
  assert.equal(await followUp.isVisible(), true, 'shown for Pro');
  assert.equal(await respondent.locator('.show-if-note').isVisible(), false, 'the words for pages without the script are hidden');
  assert.equal(await respondent.locator('#survey-progress .progress-text').textContent(), '1 of 3 questions answered');
  await respondent.fill('fieldset[data-question-id=q2] input', 'The reports');
  await snapBoth(respondent, 'logic-03-respondent-pro');
  // Changing their mind hides it again, and what was typed there is not sent.
  await respondent.check('fieldset[data-question-id=q1] input[value="Free"]');
  assert.equal(await followUp.isVisible(), false, 'hidden again for Free');
  assert.equal(await respondent.locator('#survey-progress .progress-text').textContent(), '1 of 2 questions answered');
  await respondent.click('button:has-text("Submit")');
  await respondent.waitForURL(/\/thanks/);

  // The stored response has the plan and not the hidden follow-up.
  await owner.goto(`${base}${surveyPath.replace(/\/survey$/, '/responses')}`);
  const row = owner.locator('#responses tbody tr').first();
  assert.match(await row.textContent(), /Free/);
  assert.doesNotMatch(await row.textContent(), /The reports/);
});
