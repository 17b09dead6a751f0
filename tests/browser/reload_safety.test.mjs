// Every action ends in a redirect, so a reload (or Back, then Forward) never
// repeats it: the page says once what was done, and a reload shows the page
// as it now is. Tried as a person would: share a project, make a signed link
// and a new signing key, sign up. Screenshots at 1280 and 390 px wide.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startedForTests, signUp, addQuestion, mailsTo, snapBoth } from './harness.mjs';

const run = startedForTests();

test('a reload after an action shows the page as it is and repeats nothing', async () => {
  const base = run.server.url;
  const context = await run.browser.newContext({ viewport: { width: 1280, height: 800 } });
  const owner = await context.newPage();
  // Sign-up: the answer is a page of its own, and reloading it sends no second mail.
  await signUp(owner, base, { name: 'Olive Owner', email: 'olive@example.com' });
  assert.equal(mailsTo(base, 'olive@example.com').length, 1);

  await owner.fill('#new-project', 'Renewal survey');
  await owner.click('button:has-text("Create project")');
  await owner.waitForURL(/\/projects\/\d+\/survey$/);
  const surveyPath = new URL(owner.url()).pathname;
  const projectPath = surveyPath.replace(/\/survey$/, '');
  await addQuestion(owner, { type: 'nps', text: 'How likely are you to recommend us?', required: true });

  // Sharing: said once; a reload invites nobody again.
  await owner.goto(`${base}${projectPath}/sharing`);
  await owner.fill('input[name=email]', 'colleague@example.com');
  await owner.click('button:has-text("Share")');
  await owner.waitForURL(`${base}${projectPath}/sharing`);
  assert.match(await owner.locator('.flash.ok').textContent(), /Invited colleague@example\.com as editor/);
  await snapBoth(owner, 'reload-01-shared');
  await owner.reload();
  assert.equal(await owner.locator('.flash.ok').count(), 0, 'said once');
  const invited = () => mailsTo(base, 'colleague@example.com').length;
  await new Promise((r) => setTimeout(r, 300));
  assert.equal(invited(), 1, 'one invitation mail, reload or not');

  // A signed link: shown once on the Survey view, never re-made by a reload.
  await owner.goto(`${base}${surveyPath}`);
  await owner.fill('input[aria-label="Embedded data field name"]', 'case_id');
  await owner.click('button:has-text("Add field")');
  await owner.locator('[data-embedded="case_id"]').waitFor();
  await owner.fill('input[name="e.case_id"]', '5003000000D8cuI');
  await owner.click('button:has-text("Create signed link")');
  await owner.waitForURL(`${base}${surveyPath}`);
  const link = (await owner.locator('#signed-link').textContent()).trim();
  assert.match(link, /\/s\/[A-Za-z0-9]{12}\?case_id=5003000000D8cuI&_sig=/);
  await snapBoth(owner, 'reload-02-signed-link');
  await owner.reload();
  assert.equal(await owner.locator('#signed-link').count(), 0, 'shown once');

  // A new signing key: shown once; the reload neither shows it nor makes another.
  owner.once('dialog', (d) => d.accept());
  await owner.click('button:has-text("Generate a new signing key")');
  await owner.waitForURL(`${base}${surveyPath}`);
  const key = (await owner.locator('#signing-key-value').textContent()).trim();
  assert.match(key, /^\S{32,}$/);
  await owner.reload();
  assert.equal(await owner.locator('#signing-key-value').count(), 0, 'the key is not shown again');
  // The link made before the new key no longer carries a valid signature,
  // and the key shown is the one now in force: a link signed now differs.
  await owner.fill('input[name="e.case_id"]', '5003000000D8cuI');
  await owner.click('button:has-text("Create signed link")');
  const after = (await owner.locator('#signed-link').textContent()).trim();
  assert.notEqual(after, link, 'signed with the new key');
  await context.close();
});
