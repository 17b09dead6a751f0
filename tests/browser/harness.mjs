// Starts a real `insight serve` on a random loopback port with a fresh SQLite
// database, and headless Chromium driven by playwright-core.
import { spawn } from 'node:child_process';
import { appendFileSync, mkdtempSync, mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve, dirname } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { randomBytes } from 'node:crypto';
import { before, after } from 'node:test';
import { chromium } from 'playwright-core';

const here = dirname(fileURLToPath(import.meta.url));
export const repoRoot = resolve(here, '..', '..');
export const insightBin = process.env.INSIGHT_BIN || join(repoRoot, 'target', 'debug', 'insight');
export const artifacts = process.env.INSIGHT_ARTIFACTS || join(repoRoot, 'artifacts', 'browser');

/** The mail folder of each server started here, by its URL. */
const mailFolders = new Map();

/** Runs `insight serve` and resolves once it says where it listens. Its mail
 * is written as .eml files into a folder of its data folder, which `signUp`
 * reads as the person's inbox. */
export async function startInsight() {
  const dir = mkdtempSync(join(tmpdir(), 'insight-browser-'));
  const mail = join(dir, 'mail');
  const child = spawn(insightBin, ['serve', '--bind', '127.0.0.1:0', '--json'], {
    env: { ...process.env, INSIGHT_DATABASE_URL: `sqlite://${dir}/insight.db`, INSIGHT_LOG: 'warn',
      INSIGHT_SECRET_KEY: randomBytes(32).toString('hex'), INSIGHT_SMTP_URL: `file://${mail}` },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const lines = createInterface({ input: child.stdout });
  const url = await new Promise((resolveUrl, reject) => {
    child.once('exit', (code) => reject(new Error(`insight serve exited with ${code}`)));
    lines.once('line', (line) => resolveUrl(JSON.parse(line).url));
  });
  mailFolders.set(url, mail);
  return {
    url,
    mail,
    async stop() {
      child.kill('SIGTERM');
      await new Promise((r) => (child.exitCode !== null ? r() : child.once('exit', r)));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * Runs `insight demo` (Insight, the Salesforce emulator, demo accounts) in a
 * fresh data folder and resolves with everything it announced.
 */
export async function startDemo() {
  const dir = mkdtempSync(join(tmpdir(), 'insight-demo-'));
  const child = spawn(insightBin, ['demo', '--bind', '127.0.0.1:0', '--json', '--data', dir], {
    env: { ...process.env, INSIGHT_LOG: 'warn' },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const lines = createInterface({ input: child.stdout });
  const facts = { logins: [], salesforceOrgs: [], salesforceLogins: [] };
  await new Promise((resolveReady, reject) => {
    child.once('exit', (code) => reject(new Error(`insight demo exited with ${code}`)));
    lines.on('line', (line) => {
      const v = JSON.parse(line);
      if (v.event === 'listening') facts.url = v.url;
      if (v.event === 'mail' && v.folder) facts.mail = v.folder;
      if (v.event === 'login') facts.logins.push(v);
      if (v.event === 'salesforce_org') facts.salesforceOrgs.push(v);
      if (v.event === 'salesforce_login') facts.salesforceLogins.push(v);
      if (v.event === 'emulator') facts.emulator = v;
      if (v.event === 'trigger') facts.trigger = v;
      if (v.event === 'survey') facts.survey = v;
      if (v.event === 'mail_page') facts.mailPage = v;
      if (v.event === 'hint' && v.recipient) facts.tryIt = v;
      if (v.event === 'ready') resolveReady();
    });
  });
  if (facts.mail) mailFolders.set(facts.url, facts.mail);
  return {
    ...facts,
    async stop() {
      child.kill('SIGTERM');
      await new Promise((r) => (child.exitCode !== null ? r() : child.once('exit', r)));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Signs in to Insight with an existing account. */
export async function signIn(page, base, { email, password }) {
  await page.goto(`${base}/signin`);
  await page.fill('#email', email);
  await page.fill('#password', password);
  await page.click('button:has-text("Sign in")');
  await page.waitForURL(`${base}/projects`);
}

export async function launchBrowser() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync'],
  });
}

/** What is wrong with the page as it is, at each of `widths`: it runs off the side
 * (with the elements that do), or axe-core finds a serious or critical accessibility
 * violation. One line each, prefixed with the width; the viewport is restored after. */
export async function pageProblems(page, widths) {
  const viewport = page.viewportSize();
  const found = [];
  for (const width of widths) {
    if (width !== viewport?.width) await page.setViewportSize({ width, height: 844 });
    const wide = await page.evaluate(() => document.documentElement.scrollWidth);
    if (wide > width) {
      const culprits = await page.evaluate((w) => Array.from(document.querySelectorAll('body *'))
        .filter((e) => e.getBoundingClientRect().right > w + 1 && !e.closest('.scroll-x'))
        .filter((e) => !Array.from(e.children).some((c) => c.getBoundingClientRect().right > w + 1))
        .slice(0, 4).map((e) => `${e.tagName.toLowerCase()}${e.id ? '#' + e.id : ''}${e.className ? '.' + String(e.className).split(' ').join('.') : ''}`), width);
      found.push(`${width}: the page is ${wide} px wide (${culprits.join(', ')})`);
    }
    for (const v of await accessibilityViolations(page)) found.push(`${width}: ${v}`);
  }
  if (viewport && page.viewportSize()?.width !== viewport.width) await page.setViewportSize(viewport);
  return found;
}

/** Keeps a screenshot of the page as a test artifact, and checks the page as it is
 * (`pageProblems`) at its width and, unless `phone` is false, at a phone's (390 px).
 * What it finds fails the test (and goes to artifacts/browser/audit.jsonl);
 * `audit: false` or INSIGHT_AUDIT_SNAPS=0 leaves the check out. */
export async function snap(page, name, { phone = true, audit = true } = {}) {
  mkdirSync(artifacts, { recursive: true });
  await page.screenshot({ path: join(artifacts, `${name}.png`), fullPage: true });
  if (!audit || process.env.INSIGHT_AUDIT_SNAPS === '0') return;
  // A raw mail file or an SVG is not a page.
  if (await page.evaluate(() => document.contentType) !== 'text/html') return;
  const width = page.viewportSize()?.width || 1280;
  const found = await pageProblems(page, phone ? [...new Set([width, 390])] : [width]);
  appendFileSync(join(artifacts, 'audit.jsonl'), JSON.stringify({ name, url: page.url(), found }) + '\n');
  if (found.length) throw new Error(`${name} (${page.url()}):\n${found.join('\n')}`);
}

/** Mail as lettre writes it: headers, a blank line, a quoted-printable body. */
function readMail(raw) {
  const text = raw.replace(/\r\n/g, '\n');
  const split = text.indexOf('\n\n');
  const head = text.slice(0, split);
  const body = text.slice(split + 2).replace(/=\n/g, '')
    .replace(/(=[0-9A-F]{2})+/g, (run) => Buffer.from(run.split('=').slice(1).map((h) => parseInt(h, 16))).toString('utf8'));
  const header = (name) => (head.split('\n').find((l) => l.startsWith(`${name}:`)) || '').slice(name.length + 1).trim();
  const id = Number((header('Message-ID').match(/^<insight\.(\d+)\./) || [])[1] || -1);
  return { to: header('To'), subject: header('Subject'), id, body };
}

/** The mails the server at `base` has sent to `email`, oldest first. */
export function mailsTo(base, email) {
  const folder = mailFolders.get(base);
  if (!folder) throw new Error(`no mail folder known for ${base}`);
  let names = [];
  try { names = readdirSync(folder).filter((n) => n.endsWith('.eml')); } catch { return []; }
  return names.map((n) => readMail(readFileSync(join(folder, n), 'utf8'))).filter((m) => m.to === email).sort((a, b) => a.id - b.id);
}

/** Waits (a bounded while) for the `n`th sign-up link mailed to `email`. */
async function confirmationLink(base, email, n) {
  for (let i = 0; i < 400; i++) {
    const links = mailsTo(base, email).map((m) => (m.body.match(/\S*\/signup\/confirm\?token=\S+/) || [])[0]).filter(Boolean);
    if (links.length >= n) return links[n - 1];
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`no sign-up link came to ${email}`);
}

/** Signs up a new account in this page's browser context, as a person
 * would: the form, then the link in the confirmation mail. */
export async function signUp(page, base, { name, email, password = 'a good password' }) {
  const before = mailsTo(base, email).length;
  await page.goto(`${base}/signup`);
  await page.fill('#name', name);
  await page.fill('#email', email);
  await page.fill('#password', password);
  await page.click('button:has-text("Sign up")');
  await page.locator('#check-inbox').waitFor();
  const link = await confirmationLink(base, email, before + 1);
  await page.goto(link);
  await page.fill('#password', password);
  await page.click('button:has-text("Finish signing up")');
  await page.waitForURL(`${base}/projects`);
}

/** Accepts, on My Projects, the invitation to the project at `projectPath`. */
export async function acceptInvitation(page, base, projectPath) {
  const id = projectPath.split('/').pop();
  await page.goto(`${base}/projects`);
  await page.locator(`[data-project="${id}"] button:has-text("Accept")`).click();
  await page.waitForURL(`${base}${projectPath}/survey`);
}

/** Adds a question through the survey page's Add question form and waits until it is listed. */
export async function addQuestion(page, { type, text, choices = '', min = '', max = '', required = false }) {
  const form = page.locator('#add-question form');
  await form.locator('select[name=type]').selectOption(type);
  await form.locator('input[name=text]').fill(text);
  await form.locator('textarea[name=choices]').fill(choices);
  await form.locator('input[name=min]').fill(min);
  await form.locator('input[name=max]').fill(max);
  if (required) await form.locator('input[name=required]').check();
  await form.locator('button:has-text("Add question")').click();
  await page.waitForLoadState('load');
  await page.locator('.question .qtext', { hasText: text }).first().waitFor();
}

/** axe-core's script, run in the page through the DevTools protocol (which the pages'
 * Content-Security-Policy does not govern), so the pages need no change to be checked. */
const axeSource = readFileSync(join(here, 'node_modules', 'axe-core', 'axe.min.js'), 'utf8');

/** The page's serious and critical accessibility violations, as axe-core (WCAG 2.x A and AA
 * rules) finds them: one line each, with the first elements it names. */
export async function accessibilityViolations(page) {
  await page.evaluate(axeSource);
  const result = await page.evaluate(() => window.axe.run(document, {
    runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice'] },
    resultTypes: ['violations'],
  }));
  return result.violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => `${v.impact} ${v.id}: ${v.help} — ${v.nodes.slice(0, 3).map((n) => n.target.join(' ')).join(' | ')}`);
}

/** Starts `start()` (Insight on a fresh database, or `startDemo`) and headless Chromium before
 * a test file's tests and stops both after them; `run.server` (also `run.demo`) and
 * `run.browser` hold them meanwhile. */
export function startedForTests(start = startInsight) {
  const run = { server: null, demo: null, browser: null };
  before(async () => {
    run.server = run.demo = await start();
    run.browser = await launchBrowser();
  });
  after(async () => {
    await run.browser?.close();
    await run.server?.stop();
  });
  return run;
}

/** Full-page screenshots of the page as it is at desktop and phone widths
 * (`name-1280`, `name-390`), each checked as `snap` checks them. */
export async function snapBoth(page, name) {
  await page.setViewportSize({ width: 1280, height: 800 });
  // The phone's width is checked by the second snap.
  await snap(page, `${name}-1280`, { phone: false });
  await page.setViewportSize({ width: 390, height: 844 });
  await snap(page, `${name}-390`);
  await page.setViewportSize({ width: 1280, height: 800 });
}

/** Every console error about the Content-Security-Policy the page logs. */
export function watchCsp(page) {
  const refused = [];
  page.on('console', (msg) => {
    if (msg.type() === 'error' && /Content.Security.Policy|Refused to/i.test(msg.text())) refused.push(msg.text());
  });
  return refused;
}
