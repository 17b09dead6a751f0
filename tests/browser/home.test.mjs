// A new visitor's first minutes: the first page says what Insight is, they
// sign up from it, My Projects shows the getting-started checklist, they
// publish a survey and see that step ticked — on a desktop and on a phone.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startedForTests, snap, signUp, addQuestion, watchCsp } from './harness.mjs';

const run = startedForTests();

/** The page is no wider than its viewport (nothing to scroll sideways). */
async function fitsWidth(page) {
  return page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth);
}

const step = (page, name) => page.locator(`#getting-started li[data-step="${name}"]`);

test('a visitor reads the first page, signs up, follows the checklist and sees a step tick itself off', async () => {
  const base = run.server.url;
  const context = await run.browser.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await context.newPage();
  const refused = watchCsp(page);

  // The first page, for someone not signed in.
  await page.goto(`${base}/`);
  assert.equal(new URL(page.url()).pathname, '/', 'no redirect to the sign-in page');
  await page.locator('#landing').waitFor();
  assert.match(await page.locator('#landing h1').textContent(), /right Salesforce record/);
  await snap(page, 'home-landing-1280');
  await page.setViewportSize({ width: 390, height: 844 });
  assert.ok(await fitsWidth(page), 'the first page fits a phone');
  await snap(page, 'home-landing-390');
  await page.setViewportSize({ width: 1280, height: 900 });

  // Sign up from it.
  await page.click('[data-testid=landing-sign-up]');
  await page.waitForURL(`${base}/signup`);
  await signUp(page, base, { name: 'Nina New', email: 'nina@example.com' });

  // My Projects shows the checklist, nothing done yet.
  const checklist = page.locator('#getting-started');
  await checklist.waitFor();
  for (const name of ['link-salesforce', 'map-responses', 'publish-survey', 'trigger-invitations']) {
    assert.equal(await step(page, name).getAttribute('data-done'), 'false', `${name} is not done yet`);
  }
  await snap(page, 'home-checklist-1280');
  await page.setViewportSize({ width: 390, height: 844 });
  assert.ok(await fitsWidth(page), 'My Projects fits a phone');
  await snap(page, 'home-checklist-390');
  await page.setViewportSize({ width: 1280, height: 900 });

  // "Publish a survey" leads to where that starts: a new project.
  await step(page, 'publish-survey').locator('a').click();
  await page.waitForURL(`${base}/projects#new-project`);
  await page.fill('#new-project', 'Post-case CSAT');
  await page.click('button:has-text("Create project")');
  await page.waitForURL(/\/projects\/\d+\/survey$/);
  await addQuestion(page, { type: 'nps', text: 'How likely are you to recommend us?' });
  await page.click('button:has-text("Publish survey")');
  await page.locator('#survey-link').waitFor();

  // Back on My Projects, the step is ticked from the survey's real state.
  await page.goto(`${base}/projects`);
  assert.equal(await step(page, 'publish-survey').getAttribute('data-done'), 'true');
  assert.equal(await step(page, 'link-salesforce').getAttribute('data-done'), 'false');
  assert.match(await checklist.textContent(), /1 of 4 done/);
  await snap(page, 'home-ticked-1280');
  await page.setViewportSize({ width: 390, height: 844 });
  assert.ok(await fitsWidth(page), 'My Projects with a project fits a phone');
  await snap(page, 'home-ticked-390');

  // Hidden on request, and it stays hidden.
  await page.click('button:has-text("Hide this checklist")');
  await page.waitForURL(`${base}/projects`);
  assert.equal(await checklist.count(), 0);

  assert.deepEqual(refused, [], 'nothing was refused by the Content-Security-Policy');
  await context.close();
});
