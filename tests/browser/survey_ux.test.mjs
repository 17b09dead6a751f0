// A survey people would choose: the owner writes an introduction and a
// thank-you message, previews the draft (nothing stored), publishes it,
// copies its link and sees its QR code; a respondent sees the progress as
// they answer; the owner changes the password and signs out everywhere
// else. Screenshots at 1280 and 390 px wide.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startedForTests, signUp, addQuestion, snapBoth } from './harness.mjs';

const run = startedForTests();


test('an owner previews, publishes and shares a survey; a respondent sees their progress', async () => {
  const base = run.server.url;
  const ownerContext = await run.browser.newContext({ viewport: { width: 1280, height: 800 } });
  await ownerContext.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: base });
  const owner = await ownerContext.newPage();
  await signUp(owner, base, { name: 'Olive Owner', email: 'olive@example.com' });
  await owner.fill('#new-project', 'Onboarding survey');
  await owner.click('button:has-text("Create project")');
  await owner.waitForURL(/\/projects\/\d+\/survey$/);
  const projectPath = new URL(owner.url()).pathname.replace(/\/survey$/, '');

  await addQuestion(owner, { type: 'text', text: 'What should we call you?', required: true });
  await addQuestion(owner, { type: 'single_choice', text: 'Which plan are you on?', choices: 'Free\nTeam\nEnterprise' });
  await addQuestion(owner, { type: 'nps', text: 'How likely are you to recommend us?', required: true });

  // The introduction and thank-you message, typed with markup that must stay text.
  await owner.fill('#introduction', 'Three questions, one minute.\nYour answers shape what we build next. <b>Thanks!</b>');
  await owner.fill('#thank_you', 'We read every answer. See you soon!');
  await owner.click('button:has-text("Save texts")');
  await owner.locator('#survey-texts .flash.ok').waitFor();
  assert.match(await owner.locator('#survey-texts .flash.ok').textContent(), /saved/);

  // Too long: refused beside the field, the text kept.
  await owner.fill('#thank_you', 'x'.repeat(1001));
  await owner.click('button:has-text("Save texts")');
  await owner.locator('#survey-texts .field-error').waitFor();
  assert.match(await owner.locator('#survey-texts .field-error').textContent(), /at most 1000 characters/);
  assert.equal(await owner.evaluate(() => document.activeElement?.id), 'thank_you', 'the refused field has the focus');
  assert.equal((await owner.inputValue('#thank_you')).length, 1001);
  await owner.goto(`${base}${projectPath}/survey`);
  assert.equal(await owner.inputValue('#thank_you'), 'We read every answer. See you soon!');
  await snapBoth(owner, 'ux-01-survey-draft-texts');

  // Preview the draft: the respondent's page with a banner.
  await owner.click('#preview-link');
  await owner.waitForURL(`${base}${projectPath}/preview`);
  await owner.locator('#preview-banner').waitFor();
  assert.equal(await owner.locator('#survey-intro').textContent(), 'Three questions, one minute.\nYour answers shape what we build next. <b>Thanks!</b>');
  assert.equal(await owner.locator('#survey-progress .progress-text').textContent(), '0 of 3 questions answered');
  await owner.fill('fieldset[data-question-id=q1] input', 'Ada');
  assert.equal(await owner.locator('#survey-progress .progress-text').textContent(), '1 of 3 questions answered', 'the script counts as you type');
  assert.equal(await owner.locator('#survey-progress progress').evaluate((p) => p.value), 1);
  await snapBoth(owner, 'ux-02-preview');
  await owner.click('button:has-text("Submit")');
  await owner.locator('fieldset[data-question-id=q3] .field-error').waitFor();
  assert.equal(await owner.inputValue('fieldset[data-question-id=q1] input'), 'Ada', 'what was typed stays');
  assert.ok(await owner.locator('#preview-banner').isVisible(), 'still a preview');
  await owner.check('fieldset[data-question-id=q3] input[value="9"]');
  assert.equal(await owner.locator('#survey-progress .progress-text').textContent(), '2 of 3 questions answered');
  await owner.click('button:has-text("Submit")');
  await owner.waitForURL(`${base}${projectPath}/preview/thanks`);
  assert.equal(await owner.locator('#thank-you-message').textContent(), 'We read every answer. See you soon!');
  await snapBoth(owner, 'ux-03-preview-thanks');

  // Nothing was stored.
  await owner.goto(`${base}${projectPath}/responses`);
  assert.ok((await owner.locator('nav.tabs').textContent()).includes('Responses (0)'));

  // Publish: copy the link, see the QR code.
  await owner.goto(`${base}${projectPath}/survey`);
  await owner.click('button:has-text("Publish survey")');
  const link = (await owner.locator('#survey-link').textContent()).trim();
  const copy = owner.locator('button[data-copy=survey-link]');
  assert.ok(await copy.isVisible(), 'the script shows the copy button');
  await copy.click();
  await owner.locator('[data-copied-for=survey-link]', { hasText: 'Copied' }).waitFor();
  assert.equal(await owner.evaluate(() => navigator.clipboard.readText()), link);
  const qr = owner.locator('img.qr');
  await qr.waitFor();
  assert.ok(await qr.evaluate((img) => img.complete && img.naturalWidth > 0), 'the QR code loads');
  await snapBoth(owner, 'ux-04-published-copy-link-qr');

  // A respondent with the script: the progress follows the answers.
  const respondentContext = await run.browser.newContext({ viewport: { width: 390, height: 844 } });
  const respondent = await respondentContext.newPage();
  await respondent.goto(link);
  assert.ok(!(await respondent.locator('#preview-banner').count()), 'respondents see no preview banner');
  await respondent.fill('fieldset[data-question-id=q1] input', 'Bo');
  await respondent.check('fieldset[data-question-id=q2] input[value="Team"]');
  assert.equal(await respondent.locator('#survey-progress .progress-text').textContent(), '2 of 3 questions answered');
  await snapBoth(respondent, 'ux-05-respondent-progress');
  await respondent.check('fieldset[data-question-id=q3] input[value="10"]');
  assert.equal(await respondent.locator('#survey-progress .progress-text').textContent(), '3 of 3 questions answered');
  await respondent.click('button:has-text("Submit")');
  await respondent.locator('#thanks').waitFor();
  assert.equal(await respondent.locator('#thank-you-message').textContent(), 'We read every answer. See you soon!');
  await snapBoth(respondent, 'ux-06-respondent-thanks');

  // Without the script: the link is plain text, no dead button, the progress as counted by the run.server.
  const plainContext = await run.browser.newContext({ javaScriptEnabled: false });
  const plain = await plainContext.newPage();
  await plain.goto(link);
  assert.equal(await plain.locator('#survey-progress .progress-text').textContent(), '0 of 3 questions answered');
  await plain.click('button:has-text("Submit")');
  await plain.waitForLoadState('load');
  assert.equal(await plain.locator('.field-error').count(), 2);
  await respondentContext.close();
  await plainContext.close();

  const plainOwnerContext = await run.browser.newContext({ javaScriptEnabled: false, storageState: await ownerContext.storageState() });
  const plainOwner = await plainOwnerContext.newPage();
  await plainOwner.goto(`${base}${projectPath}/survey`);
  assert.ok(!(await plainOwner.locator('button[data-copy=survey-link]').isVisible()), 'without the script there is no copy button');
  assert.equal((await plainOwner.locator('#survey-link').textContent()).trim(), link);
  await plainOwnerContext.close();

  // The favicon.
  const icon = await owner.request.get(`${base}/favicon.ico`);
  assert.equal(icon.status(), 200);
  assert.equal(icon.headers()['content-type'], 'image/svg+xml');
  await ownerContext.close();
});

test('changing the password and signing out everywhere else', async () => {
  const base = run.server.url;
  const laptopContext = await run.browser.newContext({ viewport: { width: 1280, height: 800 } });
  const laptop = await laptopContext.newPage();
  await signUp(laptop, base, { name: 'Ada Lovelace', email: 'ada@example.com' });
  const phoneContext = await run.browser.newContext();
  const phone = await phoneContext.newPage();
  await phone.goto(`${base}/signin`);
  await phone.fill('#email', 'ada@example.com');
  await phone.fill('#password', 'a good password');
  await phone.click('button:has-text("Sign in")');
  await phone.waitForURL(`${base}/projects`);

  await laptop.goto(`${base}/account`);
  assert.equal(await laptop.locator('[data-testid=other-sessions]').textContent(), 'One other browser is signed in to your account besides this one.');

  // A wrong current password changes nothing, and says so beside the field.
  await laptop.fill('#current_password', 'not my password');
  await laptop.fill('#new_password', 'a better password');
  await laptop.click('button:has-text("Change password")');
  await laptop.locator('#password .field-error').waitFor();
  assert.match(await laptop.locator('#password .field-error').textContent(), /not your current password/);
  await snapBoth(laptop, 'ux-07-account-wrong-password');

  await laptop.fill('#current_password', 'a good password');
  await laptop.fill('#new_password', 'a better password');
  await laptop.click('button:has-text("Change password")');
  await laptop.waitForURL(`${base}/account?done=password`);
  assert.match(await laptop.locator('.flash.ok').textContent(), /Password changed/);
  assert.equal(await laptop.locator('[data-testid=other-sessions]').textContent(), 'This is the only browser signed in to your account.');
  await snapBoth(laptop, 'ux-08-account-password-changed');

  // The phone was signed out by the change.
  await phone.goto(`${base}/projects`);
  await phone.waitForURL(/\/signin/);

  // Sign in on the phone again, then sign it out from the laptop.
  await phone.fill('#email', 'ada@example.com');
  await phone.fill('#password', 'a better password');
  await phone.click('button:has-text("Sign in")');
  await phone.waitForURL(/\/projects$/);
  await laptop.goto(`${base}/account`);
  await laptop.click('button:has-text("Sign out everywhere else")');
  await laptop.waitForURL(`${base}/account?done=signed-out-elsewhere`);
  assert.match(await laptop.locator('.flash.ok').textContent(), /Signed out everywhere else/);
  await phone.goto(`${base}/projects`);
  await phone.waitForURL(/\/signin/);
  await laptopContext.close();
  await phoneContext.close();
});
