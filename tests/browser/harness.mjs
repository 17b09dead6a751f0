// Starts a real `insight serve` on a random loopback port with a fresh SQLite
// database, and headless Chromium driven by playwright-core.
import { spawn } from 'node:child_process';
import { mkdtempSync, mkdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve, dirname } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { randomBytes } from 'node:crypto';
import { chromium } from 'playwright-core';

const here = dirname(fileURLToPath(import.meta.url));
export const repoRoot = resolve(here, '..', '..');
export const insightBin = process.env.INSIGHT_BIN || join(repoRoot, 'target', 'debug', 'insight');
export const artifacts = process.env.INSIGHT_ARTIFACTS || join(repoRoot, 'artifacts', 'browser');

/** Runs `insight serve` and resolves once it says where it listens. */
export async function startInsight() {
  const dir = mkdtempSync(join(tmpdir(), 'insight-browser-'));
  const child = spawn(insightBin, ['serve', '--bind', '127.0.0.1:0', '--json'], {
    env: { ...process.env, INSIGHT_DATABASE_URL: `sqlite://${dir}/insight.db`, INSIGHT_LOG: 'warn',
      INSIGHT_SECRET_KEY: randomBytes(32).toString('hex') },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const lines = createInterface({ input: child.stdout });
  const url = await new Promise((resolveUrl, reject) => {
    child.once('exit', (code) => reject(new Error(`insight serve exited with ${code}`)));
    lines.once('line', (line) => resolveUrl(JSON.parse(line).url));
  });
  return {
    url,
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
      if (v.event === 'login') facts.logins.push(v);
      if (v.event === 'salesforce_org') facts.salesforceOrgs.push(v);
      if (v.event === 'salesforce_login') facts.salesforceLogins.push(v);
      if (v.event === 'emulator') facts.emulator = v;
      if (v.event === 'ready') resolveReady();
    });
  });
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

/** Keeps a screenshot of the page as a test artifact. */
export async function snap(page, name) {
  mkdirSync(artifacts, { recursive: true });
  await page.screenshot({ path: join(artifacts, `${name}.png`), fullPage: true });
}

/** Signs up a new account in this page's browser context. */
export async function signUp(page, base, { name, email, password = 'a good password' }) {
  await page.goto(`${base}/signup`);
  await page.fill('#name', name);
  await page.fill('#email', email);
  await page.fill('#password', password);
  await page.click('button:has-text("Sign up")');
  await page.waitForURL(`${base}/projects`);
}
