// A new user reads what their survey's answers add up to: sign up, build a
// survey of an NPS, a single choice and a text question, publish it, have
// five respondents answer it, and read the Results tab — its figures, its
// charts drawn inline under the page's Content-Security-Policy, the date
// range form, a chart's download — on a desktop and on a phone.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { startedForTests, snap, signUp, addQuestion, watchCsp } from './harness.mjs';

const run = startedForTests();

const text = async (locator) => (await locator.textContent()).trim();

test('the owner reads the Results tab: NPS, choice counts, charts, a date range and a download', async () => {
  const base = run.server.url;
  const ownerContext = await run.browser.newContext({ viewport: { width: 1280, height: 900 } });
  const owner = await ownerContext.newPage();
  const refused = watchCsp(owner);

  await signUp(owner, base, { name: 'Rita Results', email: 'rita@example.com' });
  await owner.fill('#new-project', 'Support CSAT');
  await owner.click('button:has-text("Create project")');
  await owner.waitForURL(/\/projects\/\d+\/survey$/);
  const projectPath = new URL(owner.url()).pathname.replace(/\/survey$/, '');
  await addQuestion(owner, { type: 'nps', text: 'How likely are you to recommend us?' });
  await addQuestion(owner, { type: 'single_choice', text: 'Which plan are you on?', choices: 'Free\nPro\nTeam' });
  await addQuestion(owner, { type: 'text', text: 'Anything else?' });
  await owner.click('button:has-text("Publish survey")');
  const link = (await owner.locator('#survey-link').textContent()).trim();

  // Five respondents, each in a browser context of their own. Scores 10, 9,
  // 9, 7, 3: three promoters, one passive, one detractor — NPS (3 - 1) / 5 = 40.
  const answers = [
    { nps: '10', plan: 'Pro', comment: 'Lovely support.' },
    { nps: '9', plan: 'Pro' },
    { nps: '9', plan: 'Free', comment: 'Quick answer.' },
    { nps: '7', plan: 'Team' },
    { nps: '3' },
  ];
  for (const a of answers) {
    const context = await run.browser.newContext();
    const respondent = await context.newPage();
    await respondent.goto(link);
    await respondent.check(`fieldset[data-question-id=q1] input[value="${a.nps}"]`);
    if (a.plan) await respondent.check(`fieldset[data-question-id=q2] input[value="${a.plan}"]`);
    if (a.comment) await respondent.fill('fieldset[data-question-id=q3] input', a.comment);
    await respondent.click('button:has-text("Submit")');
    await respondent.locator('#thanks').waitFor();
    await context.close();
  }

  // The Results tab.
  await owner.goto(`${base}${projectPath}/survey`);
  await owner.click('.tabs a:has-text("Results")');
  await owner.waitForURL(`${base}${projectPath}/results`);
  assert.match(await text(owner.locator('#results-total')), /^5 responses in this range/);

  const nps = owner.locator('section.result[data-question=q1]');
  assert.equal(await text(nps.locator('[data-testid=nps-score]')), '40');
  assert.equal(await text(nps.locator('[data-testid=promoters]')), '3');
  assert.equal(await text(nps.locator('[data-testid=passives]')), '1');
  assert.equal(await text(nps.locator('[data-testid=detractors]')), '1');

  const plan = owner.locator('section.result[data-question=q2]');
  assert.equal(await text(plan.locator('[data-testid=answered]')), '4 answered');
  assert.equal(await text(plan.locator('[data-testid=skipped]')), '1 skipped');
  const rows = await plan.locator('table.figures tbody tr').evaluateAll((trs) => trs.map((tr) => [...tr.cells].map((c) => c.textContent.trim())));
  assert.deepEqual(rows, [['Free', '1', '25 %'], ['Pro', '2', '50 %'], ['Team', '1', '25 %']]);

  const comments = owner.locator('section.result[data-question=q3] ul.recent li');
  assert.equal(await comments.count(), 2);
  assert.ok((await text(comments.first())).startsWith('Quick answer.'), 'newest first');

  // The charts are drawn: inline SVG with a real size, scaled from a viewBox.
  for (const section of [nps, plan]) {
    const chart = section.locator('svg.chart');
    await chart.waitFor();
    assert.ok(await chart.isVisible());
    const box = await chart.boundingBox();
    assert.ok(box && box.width > 100 && box.height > 50, `chart box ${JSON.stringify(box)}`);
    assert.ok(await chart.getAttribute('viewBox'), 'the chart keeps a viewBox so it can scale');
    assert.ok((await chart.locator('rect').count()) > 1, 'the chart draws its bars');
  }
  await snap(owner, 'results-01-desktop-1280');

  // The chart downloads as an SVG file, and its address answers SVG.
  const downloadLink = plan.locator('a:has-text("Download chart (SVG)")');
  const [download] = await Promise.all([owner.waitForEvent('download'), downloadLink.click()]);
  assert.match(download.suggestedFilename(), /\.svg$/);
  assert.ok(readFileSync(await download.path(), 'utf8').startsWith('<svg'));
  const answered = await owner.request.get(new URL(await downloadLink.getAttribute('href'), owner.url()).href);
  assert.equal(answered.status(), 200);
  assert.equal(answered.headers()['content-type'], 'image/svg+xml');
  assert.match(await answered.text(), /^<svg[^>]*viewBox=/);

  // A range that ends before it starts is explained beside the form, and
  // the dates typed stay in it.
  await owner.fill('#results-range input[name=from]', '2026-03-10');
  await owner.fill('#results-range input[name=to]', '2026-03-01');
  await owner.click('#results-range button:has-text("Show")');
  await owner.waitForLoadState('load');
  const error = owner.locator('#results-range #range-error');
  assert.match(await text(error), /must not be after/);
  assert.equal(await owner.inputValue('#results-range input[name=from]'), '2026-03-10');
  assert.equal(await owner.inputValue('#results-range input[name=to]'), '2026-03-01');
  assert.equal(await owner.locator('section.result').count(), 0, 'no figures for a range that is not one');
  await snap(owner, 'results-02-bad-range');
  // A hand-edited address with what is not a date says so too.
  const typo = await owner.goto(`${base}${projectPath}/results?from=yesterday`);
  assert.equal(typo.status(), 422);
  assert.match(await text(owner.locator('#results-range #range-error')), /"yesterday" is not a date/);

  // A range with none of the answers says so, question by question.
  await owner.goto(`${base}${projectPath}/results?from=2001-01-01&to=2001-01-31`);
  assert.match(await text(owner.locator('#results-total')), /^0 responses/);
  assert.equal(await owner.locator('section.result .no-answers').count(), 3);
  assert.equal(await owner.locator('svg.chart').count(), 0);

  // On a phone: the page fits its width, the chart scales down with it.
  const phoneContext = await run.browser.newContext({ viewport: { width: 390, height: 844 }, storageState: await ownerContext.storageState() });
  const phone = await phoneContext.newPage();
  const phoneRefused = watchCsp(phone);
  await phone.goto(`${base}${projectPath}/results`);
  const phoneChart = phone.locator('section.result[data-question=q2] svg.chart');
  await phoneChart.waitFor();
  const phoneBox = await phoneChart.boundingBox();
  assert.ok(phoneBox.width > 100 && phoneBox.width <= 390, `phone chart width ${phoneBox.width}`);
  assert.ok(phoneBox.height > 30, `phone chart height ${phoneBox.height}`);
  const scrollWidth = await phone.evaluate(() => document.documentElement.scrollWidth);
  const wider = await phone.evaluate(() => [...document.querySelectorAll('body *')]
    .filter((e) => e.getBoundingClientRect().right > 390).map((e) => `${e.tagName.toLowerCase()}.${e.className?.baseVal ?? e.className}`));
  assert.ok(scrollWidth <= 390, `the page is ${scrollWidth} px wide at 390; sticking out: ${wider.slice(0, 10).join(', ')}`);
  await snap(phone, 'results-03-phone-390');

  assert.deepEqual([...refused, ...phoneRefused], [], 'the Content-Security-Policy refused nothing');
  await Promise.all([ownerContext.close(), phoneContext.close()]);
});

test('a survey without questions says so on its Results tab', async () => {
  const base = run.server.url;
  const context = await run.browser.newContext();
  const page = await context.newPage();
  await signUp(page, base, { name: 'Ned Newcomer', email: 'ned@example.com' });
  await page.fill('#new-project', 'Not built yet');
  await page.click('button:has-text("Create project")');
  await page.waitForURL(/\/projects\/\d+\/survey$/);
  await page.goto(page.url().replace(/\/survey$/, '/results'));
  assert.match(await text(page.locator('#no-questions')), /no questions yet/);
  assert.equal(await page.locator('section.result').count(), 0);
  await context.close();
});
