// A new user finds responses in their survey's Responses table: sign up,
// build and publish a survey with a text question, have 53 respondents
// answer it, then page through the table (50 a page), search the answers'
// text and a response id, filter by dates (a range with nothing in it says
// so and offers to clear; a reversed range is refused beside the form),
// sort oldest first — all through the plain GET form — on a desktop and on
// a phone, where the wide table scrolls inside its frame.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startedForTests, snap, signUp, addQuestion } from './harness.mjs';

const run = startedForTests();

const text = async (locator) => (await locator.textContent()).trim();
const rowIds = (page) => page.locator('#responses tbody tr').evaluateAll((trs) => trs.map((tr) => tr.dataset.responseId));
const day = (ms) => new Date(ms).toISOString().slice(0, 10);

test('the owner pages, searches, filters and sorts the Responses table', async () => {
  const base = run.server.url;
  const context = await run.browser.newContext({ viewport: { width: 1280, height: 900 } });
  const owner = await context.newPage();

  await signUp(owner, base, { name: 'Tara Table', email: 'tara@example.com' });
  await owner.fill('#new-project', 'Delivery feedback');
  await owner.click('button:has-text("Create project")');
  await owner.waitForURL(/\/projects\/\d+\/survey$/);
  const projectPath = new URL(owner.url()).pathname.replace(/\/survey$/, '');
  await addQuestion(owner, { type: 'text', text: 'How was your delivery? Tell us anything that stood out, good or bad.' });
  await addQuestion(owner, { type: 'single_choice', text: 'Which plan are you on?', choices: 'Free\nPro\nTeam' });
  await owner.click('button:has-text("Publish survey")');
  const link = (await owner.locator('#survey-link').textContent()).trim();

  // 53 respondents post the form as a browser would (every fifth one found
  // the shipping slow).
  const respondents = await run.browser.newContext();
  for (let i = 0; i < 53; i++) {
    const form = await (await respondents.request.get(link)).text();
    const rid = form.match(/name="_rid" value="([^"]+)"/)[1];
    const comment = i % 5 === 0 ? `Slow shipping, parcel ${i}` : `All good ${i}`;
    const r = await respondents.request.post(link, { form: { _rid: rid, q1: comment, q2: ['Free', 'Pro', 'Team'][i % 3] }, maxRedirects: 0 });
    assert.equal(r.status(), 303, `respondent ${i}`);
  }
  await respondents.close();

  // The table: newest first, 50 a page, Older and Newer.
  await owner.click('.tabs a:has-text("Responses")');
  await owner.waitForURL(`${base}${projectPath}/responses`);
  assert.match(await text(owner.locator('#responses-match')), /^53 responses, newest first/);
  const firstPage = await rowIds(owner);
  assert.equal(firstPage.length, 50);
  assert.equal(await owner.getAttribute('#responses thead th[title^="How was your delivery?"]', 'title'),
    'How was your delivery? Tell us anything that stood out, good or bad.', 'the full question on hover');
  await snap(owner, 'responses-table-01-desktop-1280');
  await owner.click('#page-next');
  const secondPage = await rowIds(owner);
  assert.equal(secondPage.length, 3);
  assert.equal(new Set([...firstPage, ...secondPage]).size, 53, 'every response once');
  await owner.click('#page-previous');
  assert.deepEqual(await rowIds(owner), firstPage);

  // Search the answers' text, in any case.
  await owner.fill('#response-filter input[name=q]', 'SLOW shipping');
  await owner.click('#response-filter button:has-text("Apply")');
  await owner.waitForLoadState('load');
  assert.match(owner.url(), /q=SLOW\+shipping/, 'the filter is in the shareable URL');
  assert.match(await text(owner.locator('#responses-match')), /^11 responses match/);
  const slow = await owner.locator('#responses tbody tr').allTextContents();
  assert.equal(slow.length, 11);
  assert.ok(slow.every((row) => row.includes('Slow shipping')), 'only the matching answers');
  assert.equal(await owner.inputValue('#response-filter input[name=q]'), 'SLOW shipping', 'the form keeps the search');
  await snap(owner, 'responses-table-02-search');

  // Search a response id by its beginning.
  const wanted = secondPage[1];
  await owner.fill('#response-filter input[name=q]', wanted.slice(0, 12));
  await owner.click('#response-filter button:has-text("Apply")');
  await owner.waitForLoadState('load');
  assert.ok((await rowIds(owner)).includes(wanted));
  await owner.fill('#response-filter input[name=q]', wanted);
  await owner.click('#response-filter button:has-text("Apply")');
  await owner.waitForLoadState('load');
  assert.deepEqual(await rowIds(owner), [wanted]);
  assert.match(await text(owner.locator('#responses-match')), /^1 response matches/);

  // Dates: today has them all; from tomorrow on there are none, and the
  // page says so and offers to clear the filter.
  const today = day(Date.now());
  const tomorrow = day(Date.now() + 86_400_000);
  await owner.fill('#response-filter input[name=q]', '');
  await owner.fill('#response-filter input[name=from]', today);
  await owner.fill('#response-filter input[name=to]', today);
  await owner.click('#response-filter button:has-text("Apply")');
  await owner.waitForLoadState('load');
  assert.match(await text(owner.locator('#responses-match')), /^53 responses match/);
  await owner.fill('#response-filter input[name=from]', tomorrow);
  await owner.fill('#response-filter input[name=to]', '');
  await owner.click('#response-filter button:has-text("Apply")');
  await owner.waitForLoadState('load');
  assert.match(await text(owner.locator('#no-matches')), /No responses match this filter/);
  await snap(owner, 'responses-table-03-nothing-matches');
  await owner.click('#no-matches a:has-text("Clear the filter")');
  await owner.waitForURL(`${base}${projectPath}/responses`);
  assert.equal((await rowIds(owner)).length, 50);

  // A range that ends before it starts is refused beside the form, the
  // dates typed kept, and no table is shown.
  await owner.fill('#response-filter input[name=from]', '2026-03-10');
  await owner.fill('#response-filter input[name=to]', '2026-03-01');
  await owner.click('#response-filter button:has-text("Apply")');
  await owner.waitForLoadState('load');
  assert.match(await text(owner.locator('#response-filter #filter-error')), /must not be after/);
  assert.equal(await owner.inputValue('#response-filter input[name=from]'), '2026-03-10');
  assert.equal(await owner.inputValue('#response-filter input[name=to]'), '2026-03-01');
  assert.equal(await owner.locator('#responses').count(), 0);
  await snap(owner, 'responses-table-04-bad-range');

  // Oldest first: the last page's last response now leads.
  await owner.click('#clear-filters');
  await owner.waitForURL(`${base}${projectPath}/responses`);
  await owner.selectOption('#response-filter select[name=sort]', 'oldest');
  await owner.click('#response-filter button:has-text("Apply")');
  await owner.waitForLoadState('load');
  assert.match(await text(owner.locator('#responses-match')), /oldest first/);
  const oldest = await rowIds(owner);
  assert.equal(oldest[0], secondPage[secondPage.length - 1]);
  await owner.click('#page-next');
  assert.match(owner.url(), /sort=oldest/, 'the next page keeps the order');
  assert.deepEqual(await rowIds(owner), firstPage.slice(0, 3).reverse());

  // On a phone: the page keeps its width; the table scrolls in its frame.
  const phoneContext = await run.browser.newContext({ viewport: { width: 390, height: 844 }, storageState: await context.storageState() });
  const phone = await phoneContext.newPage();
  await phone.goto(`${base}${projectPath}/responses?q=slow`);
  assert.equal((await rowIds(phone)).length, 11);
  const scrollWidth = await phone.evaluate(() => document.documentElement.scrollWidth);
  assert.ok(scrollWidth <= 390, `the page is ${scrollWidth} px wide at 390`);
  const frame = await phone.evaluate(() => {
    const f = document.querySelector('.scroll-x');
    return { scroll: f.scrollWidth, client: f.clientWidth };
  });
  assert.ok(frame.scroll > frame.client, `the table scrolls inside its frame (${JSON.stringify(frame)})`);
  await snap(phone, 'responses-table-05-phone-390');

  await Promise.all([context.close(), phoneContext.close()]);
});
