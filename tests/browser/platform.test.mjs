// A new user's first hour with Insight: sign up, create a project, build a
// survey with every question type, publish it, answer it as a respondent,
// read the response in the table and the CSV, and share it with a viewer who
// cannot edit it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { startedForTests, snap, signUp, acceptInvitation, addQuestion } from './harness.mjs';

const run = startedForTests();

test('a new user builds, publishes and reads a survey; a viewer cannot edit it', async () => {
  const base = run.server.url;
  const ownerContext = await run.browser.newContext();
  const owner = await ownerContext.newPage();

  // Sign up and create a project.
  await signUp(owner, base, { name: 'Olive Owner', email: 'olive@example.com' });
  await snap(owner, '01-my-projects-empty');
  await owner.fill('#new-project', 'Post-case CSAT');
  await owner.click('button:has-text("Create project")');
  await owner.waitForURL(/\/projects\/\d+\/survey$/);
  const projectPath = new URL(owner.url()).pathname.replace(/\/survey$/, '');

  // Build the survey: one question of each type.
  await addQuestion(owner, { type: 'text', text: 'What is your name?', required: true });
  await addQuestion(owner, { type: 'essay', text: 'Tell us more' });
  await addQuestion(owner, { type: 'single_choice', text: 'Was your case resolved?', choices: 'Yes\nPartly\nNo', required: true });
  await addQuestion(owner, { type: 'multiple_choice', text: 'Which channels did you use?', choices: 'Email\nPhone\nChat' });
  await addQuestion(owner, { type: 'number', text: 'How many days did it take?', min: '0', max: '365' });
  await addQuestion(owner, { type: 'email', text: 'Your email' });
  await addQuestion(owner, { type: 'nps', text: 'How likely are you to recommend us?', required: true });
  // Reorder: the NPS question moves up one place.
  await owner.click('button[aria-label="Move q7 up"]');
  await owner.waitForLoadState('load');
  const order = await owner.locator('#questions > li').evaluateAll((els) => els.map((e) => e.dataset.questionId));
  assert.deepEqual(order, ['q1', 'q2', 'q3', 'q4', 'q5', 'q7', 'q6']);

  // Embedded data from the link.
  await owner.fill('input[aria-label="Embedded data field name"]', 'case_id');
  await owner.click('button:has-text("Add field")');
  await owner.locator('[data-embedded="case_id"]').waitFor();

  // The Tools menu is there, with its Salesforce section.
  await owner.click('#tools-menu summary');
  assert.ok(await owner.locator('#tools-menu').getByText('Setup Link to Salesforce Account').isVisible());
  await snap(owner, '02-survey-builder-tools-menu');
  await owner.click('#tools-menu summary');

  // Publish and take the anonymous link.
  await owner.click('button:has-text("Publish survey")');
  const link = (await owner.locator('#survey-link').textContent()).trim();
  assert.match(link, /\/s\/[A-Za-z0-9]{12}$/);
  await snap(owner, '03-published');

  // A respondent, in a browser context of their own, with no account.
  const respondentContext = await run.browser.newContext();
  const respondent = await respondentContext.newPage();
  await respondent.goto(`${link}?case_id=5003000000D8cuI`);
  await snap(respondent, '04-respondent-form');
  // Submitting blank shows what is missing, and stores nothing.
  await respondent.click('button:has-text("Submit")');
  await respondent.locator('.field-error').first().waitFor();
  assert.equal(await respondent.locator('.field-error').count(), 3);
  // The first question refused has the focus, so the respondent starts there.
  const focused = () => respondent.evaluate(() => document.activeElement?.closest('fieldset')?.dataset.questionId ?? null);
  const firstRefused = await respondent.locator('fieldset:has(.field-error)').first().getAttribute('data-question-id');
  assert.equal(await focused(), firstRefused);
  await snap(respondent, '05-respondent-errors');

  await respondent.fill('fieldset[data-question-id=q1] input', 'Ada');
  await respondent.fill('fieldset[data-question-id=q2] textarea', 'Quick and friendly.');
  await respondent.check('fieldset[data-question-id=q3] input[value="Partly"]');
  await respondent.check('fieldset[data-question-id=q4] input[value="Email"]');
  await respondent.check('fieldset[data-question-id=q4] input[value="Chat"]');
  await respondent.fill('fieldset[data-question-id=q5] input', '400');
  await respondent.fill('fieldset[data-question-id=q6] input', 'ada@example.com');
  await respondent.check('fieldset[data-question-id=q7] input[value="9"]');
  await respondent.click('button:has-text("Submit")');
  // A number out of range is explained, and the other answers stay.
  await respondent.locator('fieldset[data-question-id=q5] .field-error').waitFor();
  assert.equal(await focused(), 'q5', 'the number out of range has the focus');
  assert.equal(await respondent.inputValue('fieldset[data-question-id=q1] input'), 'Ada');
  await respondent.fill('fieldset[data-question-id=q5] input', '3');
  await respondent.click('button:has-text("Submit")');
  await respondent.locator('#thanks').waitFor();
  await snap(respondent, '06-thank-you');

  // The owner sees the response in the table…
  await owner.goto(`${base}${projectPath}/responses`);
  const row = owner.locator('#responses tbody tr');
  assert.equal(await row.count(), 1);
  const rowText = await row.first().textContent();
  for (const expected of ['Ada', 'Partly', 'Email; Chat', '3', 'ada@example.com', '9', '5003000000D8cuI']) {
    assert.ok(rowText.includes(expected), `table row lacks ${expected}: ${rowText}`);
  }
  await snap(owner, '07-responses-table');

  // …and in the CSV.
  const [download] = await Promise.all([owner.waitForEvent('download'), owner.click('a:has-text("Download CSV")')]);
  const csv = readFileSync(await download.path(), 'utf8');
  const [header, line, ...rest] = csv.trim().split('\n');
  assert.ok(header.startsWith('response_id,started_at,finished_at,'));
  assert.ok(header.includes('How likely are you to recommend us? (q7)'));
  assert.ok(line.includes('Ada') && line.includes('Email; Chat') && line.includes('5003000000D8cuI'));
  assert.equal(rest.length, 0);

  // A colleague signs up; the owner shares the project as viewer.
  const viewerContext = await run.browser.newContext();
  const viewer = await viewerContext.newPage();
  await signUp(viewer, base, { name: 'Vic Viewer', email: 'vic@example.com' });
  await owner.goto(`${base}${projectPath}/sharing`);
  await owner.fill('input[name=email]', 'vic@example.com');
  await owner.selectOption('select[name=role]', 'viewer');
  await owner.click('button:has-text("Share")');
  // Sharing is an invitation, whether or not the address has an account…
  await owner.locator('[data-invitation="vic@example.com"]').waitFor();
  // …which the colleague accepts on My Projects.
  await acceptInvitation(viewer, base, projectPath);
  await owner.goto(`${base}${projectPath}/sharing`);
  await owner.locator('[data-share="vic@example.com"]').waitFor();
  await snap(owner, '08-shared');

  // The viewer finds it in My Projects, sees the survey and its original
  // owner, and has no way to edit it…
  await viewer.goto(`${base}/projects`);
  await viewer.click('a:has-text("Post-case CSAT")');
  await viewer.waitForURL(/\/survey$/);
  assert.equal((await viewer.locator('[data-testid=project-owner]').textContent()).trim(), 'Olive Owner');
  assert.equal(await viewer.locator('#add-question').count(), 0);
  assert.equal(await viewer.locator('button:has-text("Delete")').count(), 0);
  await snap(viewer, '09-viewer-read-only');

  // …and the server refuses an edit forged with the viewer's own session.
  const csrf = await viewer.locator('input[name=csrf]').first().inputValue();
  const forged = await viewer.request.post(`${base}${projectPath}/survey/questions`, {
    form: { csrf, type: 'text', text: 'Forged question' },
    maxRedirects: 0,
  });
  assert.equal(forged.status(), 403);
  await owner.goto(`${base}${projectPath}/survey`);
  assert.equal(await owner.getByText('Forged question').count(), 0);

  await Promise.all([ownerContext.close(), respondentContext.close(), viewerContext.close()]);
});
