// An automated accessibility check (axe-core, WCAG 2.1 A and AA) of the main pages, and that
// none runs off the side of a phone's screen, as a new
// user meets them: the first page, sign-up and sign-in, My Projects, the Survey view, the
// respondent's form and thank-you page, Responses and a response, Results, the Salesforce
// tab, Sharing and Account. No page may have a serious or critical violation; each is kept
// as a screenshot at 1280 and 390 px wide.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startedForTests, snap, signUp, addQuestion, pageProblems } from './harness.mjs';

const run = startedForTests();

/** Checks the page at both widths (a phone's layout is another page to a screen reader's
 * user too) and keeps its screenshots. */
async function check(page, name) {
  const found = {};
  for (const width of [1280, 390]) {
    await page.setViewportSize({ width, height: width === 390 ? 844 : 800 });
    const problems = await pageProblems(page, [width]);
    if (problems.length) found[width] = problems;
    // Checked above, so that every page's problems are reported together.
    await snap(page, `a11y-${name}-${width}`, { audit: false });
  }
  await page.setViewportSize({ width: 1280, height: 800 });
  return Object.keys(found).length ? { [name]: found } : null;
}

test('the main pages have no serious or critical accessibility violation', async () => {
  const base = run.server.url;
  const problems = [];
  const record = (r) => { if (r) problems.push(r); };
  const visitor = await (await run.browser.newContext()).newPage();
  await visitor.goto(`${base}/`);
  record(await check(visitor, '01-first-page'));
  await visitor.goto(`${base}/signin`);
  record(await check(visitor, '02-sign-in'));
  await visitor.goto(`${base}/signup`);
  record(await check(visitor, '03-sign-up'));

  const owner = await (await run.browser.newContext()).newPage();
  await signUp(owner, base, { name: 'Olive Owner', email: 'olive@example.com' });
  record(await check(owner, '04-my-projects'));
  await owner.fill('#new-project', 'Customer survey');
  await owner.click('button:has-text("Create project")');
  await owner.waitForURL(/\/projects\/\d+\/survey$/);
  const projectPath = new URL(owner.url()).pathname.replace(/\/survey$/, '');
  await addQuestion(owner, { type: 'single_choice', text: 'Which plan are you on?', choices: 'Free\nPro', required: true });
  await addQuestion(owner, { type: 'nps', text: 'How likely are you to recommend us?' });
  await addQuestion(owner, { type: 'essay', text: 'What should we improve?' });
  await owner.click('button:has-text("Publish survey")');
  await owner.waitForURL(`${base}${projectPath}/survey?saved=published`);
  assert.match(await owner.locator(".flash.ok").textContent(), /Published: the survey link takes responses/);
  record(await check(owner, '05-survey-view'));
  const link = (await owner.locator('#survey-link').textContent()).trim();

  const respondent = await (await run.browser.newContext()).newPage();
  await respondent.goto(link);
  record(await check(respondent, '06-respondent-form'));
  await respondent.click('button:has-text("Submit")');
  await respondent.locator('.field-error').first().waitFor();
  record(await check(respondent, '07-respondent-form-with-errors'));
  await respondent.check('input[value="Pro"]');
  await respondent.check('fieldset[data-question-id=q2] input[value="9"]');
  await respondent.fill('fieldset[data-question-id=q3] textarea', 'Faster exports');
  await respondent.click('button:has-text("Submit")');
  await respondent.waitForURL(/\/thanks/);
  record(await check(respondent, '08-thank-you'));

  for (const [path, name] of [
    ['/responses', '09-responses'], ['/results', '11-results'], ['/salesforce', '12-salesforce'], ['/sharing', '13-sharing'],
  ]) {
    await owner.goto(`${base}${projectPath}${path}`);
    record(await check(owner, name));
    if (path === '/responses') {
      await owner.locator('#responses tbody tr a').first().click();
      await owner.waitForURL(/\/responses\/R_/);
      record(await check(owner, '10-response'));
    }
  }
  await owner.goto(`${base}/account`);
  record(await check(owner, '14-account'));

  assert.deepEqual(problems, [], JSON.stringify(problems, null, 2));
});
