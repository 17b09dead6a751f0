// jsforce (unchanged, from npm) against sfemu: the OAuth 2.0 web server flow with PKCE,
// driven like a browser (login form, consent, cookies, manual redirects), then REST calls.
'use strict';
const { test, before } = require('node:test');
const assert = require('node:assert/strict');
const jsforce = require('jsforce');

const E = process.env;
const REDIRECT = 'http://localhost:8765/oauth/callback';
const haveEmu = !!E.SFEMU_PROD_LOGIN_URL;

function newOAuth2() {
  return new jsforce.OAuth2({
    loginUrl: E.SFEMU_PROD_LOGIN_URL,
    clientId: E.SFEMU_CLIENT_ID,
    clientSecret: E.SFEMU_CLIENT_SECRET,
    redirectUri: REDIRECT,
    useVerifier: true,
  });
}

// A tiny browser: keeps cookies, does not follow redirects by itself.
class Browser {
  constructor() { this.cookies = new Map(); }
  async request(url, opts = {}) {
    const headers = Object.assign({}, opts.headers || {});
    if (this.cookies.size) headers.cookie = [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; ');
    const res = await fetch(url, Object.assign({}, opts, { headers, redirect: 'manual' }));
    for (const c of res.headers.getSetCookie ? res.headers.getSetCookie() : []) {
      const [kv] = c.split(';');
      const i = kv.indexOf('=');
      this.cookies.set(kv.slice(0, i).trim(), kv.slice(i + 1).trim());
    }
    return res;
  }
  // Submit the first <form> of an HTML page with its hidden inputs plus `fields`.
  async submit(pageUrl, html, fields) {
    const form = html.match(/<form[^>]*action="([^"]*)"[^>]*>([\s\S]*?)<\/form>/);
    assert.ok(form, 'page has a form');
    const data = new URLSearchParams();
    for (const m of form[2].matchAll(/<input type="hidden" name="([^"]+)" value="([^"]*)">/g)) {
      data.set(m[1], m[2].replace(/&quot;/g, '"').replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&'));
    }
    for (const [k, v] of Object.entries(fields)) data.set(k, v);
    return this.request(new URL(form[1], pageUrl).toString(), {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: data.toString(),
    });
  }
}

// Salesforce's pages: authorize sends the browser to the login page (/?ec=302&startURL=…),
// whose form posts back there and continues at startURL, the approval page.
async function loginAndConsent(browser, authUrl, action = 'allow') {
  const toLogin = await browser.request(authUrl);
  assert.equal(toLogin.status, 302);
  const loginUrl = new URL(toLogin.headers.get('location'), authUrl).toString();
  assert.match(loginUrl, /\/\?ec=302&startURL=/);
  const loginPage = await browser.request(loginUrl);
  assert.equal(loginPage.status, 200);
  const loginHtml = await loginPage.text();
  assert.match(loginHtml, /id="username"/);
  const loggedIn = await browser.submit(loginUrl, loginHtml, {
    username: E.SFEMU_PROD_USERNAME, pw: E.SFEMU_PROD_PASSWORD, Login: 'Log In',
  });
  // As on Salesforce, a good login answers with a page whose script goes on to startURL.
  assert.equal(loggedIn.status, 200);
  const onward = (await loggedIn.text()).match(/<a id="redirect" href="([^"]+)"/);
  assert.ok(onward, 'the page names where it goes');
  const approvalUrl = new URL(onward[1].replace(/&amp;/g, '&'), authUrl).toString();
  assert.match(approvalUrl, /\/setup\/secur\/RemoteAccessAuthorizationPage\.apexp\?source=/);
  const consent = await browser.request(approvalUrl);
  assert.equal(consent.status, 200);
  const consentHtml = await consent.text();
  assert.match(consentHtml, /Allow Access/);
  const done = await browser.submit(approvalUrl, consentHtml, { action });
  assert.equal(done.status, 302);
  return new URL(done.headers.get('location'));
}

async function admin(path, method = 'POST') {
  const r = await fetch(`${E.SFEMU_ADMIN_URL}${path}`, { method });
  assert.ok(r.ok, `admin ${path}: ${r.status}`);
  return r.json();
}

let conn;
let oauth2;
const browser = new Browser();

before(async () => {
  if (!haveEmu) return;
  oauth2 = newOAuth2();
  const url = oauth2.getAuthorizationUrl({ scope: 'api refresh_token', state: 'st-123', prompt: 'login' });
  assert.match(url, /code_challenge=/);
  const cb = await loginAndConsent(browser, url);
  assert.equal(cb.origin + cb.pathname, REDIRECT);
  assert.equal(cb.searchParams.get('state'), 'st-123');
  conn = new jsforce.Connection({ oauth2, version: '59.0' });
  const userInfo = await conn.authorize(cb.searchParams.get('code'));
  assert.equal(userInfo.organizationId, E.SFEMU_PROD_ORG_ID);
  assert.equal(userInfo.id, E.SFEMU_PROD_USER_ID);
  assert.ok(conn.refreshToken, 'refresh token issued');
  assert.ok(conn.instanceUrl.startsWith(E.SFEMU_HTTPS_URL));
});

test('identity URL is parsed and served', { skip: !haveEmu }, async () => {
  const id = await conn.identity();
  assert.equal(id.organization_id, E.SFEMU_PROD_ORG_ID);
  assert.equal(id.user_id, E.SFEMU_PROD_USER_ID);
  assert.equal(id.username, E.SFEMU_PROD_USERNAME);
});

test('existing session skips the login form; prompt=login forces it', { skip: !haveEmu }, async () => {
  const o = newOAuth2();
  const r = await browser.request(o.getAuthorizationUrl({ scope: 'api refresh_token', state: 's2' }));
  assert.equal(r.status, 302, 'approved app + session cookie: straight back with a code');
  const loc = new URL(r.headers.get('location'));
  assert.equal(loc.searchParams.get('state'), 's2');
  const c2 = new jsforce.Connection({ oauth2: o, version: '59.0' });
  await c2.authorize(loc.searchParams.get('code'));
  const again = await browser.request(o.getAuthorizationUrl({ state: 's3', prompt: 'login' }));
  assert.equal(again.status, 302, 'to the login page, not back with a code');
  const login = await browser.request(new URL(again.headers.get('location'), E.SFEMU_HTTPS_URL).toString());
  assert.match(await login.text(), /id="password"/);
});

test('deny answers error=access_denied with state', { skip: !haveEmu }, async () => {
  const b = new Browser();
  const loc = await loginAndConsent(b, newOAuth2().getAuthorizationUrl({ state: 'deny-me', prompt: 'consent' }), 'deny');
  assert.equal(loc.searchParams.get('error'), 'access_denied');
  assert.equal(loc.searchParams.get('state'), 'deny-me');
});

test('PKCE is enforced and codes are single use', { skip: !haveEmu }, async () => {
  const o = newOAuth2();
  const r = await browser.request(o.getAuthorizationUrl({ scope: 'api refresh_token' }));
  const code = new URL(r.headers.get('location')).searchParams.get('code');
  const wrong = newOAuth2(); // different code verifier
  await assert.rejects(wrong.requestToken(code), (e) => e.name === 'invalid_grant');
  // the failed exchange consumed the code
  await assert.rejects(o.requestToken(code), (e) => e.name === 'invalid_grant');
});

test('CRUD, upsert, query, describe', { skip: !haveEmu }, async () => {
  const acc = conn.sobject('Account');
  const created = await acc.create({ Name: 'JS Acme' });
  assert.equal(created.success, true);
  const rec = await acc.retrieve(created.id);
  assert.equal(rec.Name, 'JS Acme');
  await acc.update({ Id: created.id, Name: 'JS Acme 2' });
  const q = await conn.query(`SELECT Id, Name FROM Account WHERE Id = '${created.id}'`);
  assert.equal(q.totalSize, 1);
  assert.equal(q.records[0].Name, 'JS Acme 2');
  const ext = `js-${Date.now()}`;
  const up1 = await conn.sobject('Contact').upsert({ LastName: 'Up', Insight_Id__c: ext }, 'Insight_Id__c');
  assert.equal(up1.success, true);
  const up2 = await conn.sobject('Contact').upsert({ LastName: 'Up 2', Insight_Id__c: ext }, 'Insight_Id__c');
  assert.equal(up2.success, true);
  const c = await conn.query(`SELECT Id, LastName FROM Contact WHERE Insight_Id__c = '${ext}'`);
  assert.equal(c.totalSize, 1);
  assert.equal(c.records[0].LastName, 'Up 2');
  const many = await conn.sobject('Account').create([{ Name: 'Bulk A' }, { Name: 'Bulk B' }, { Name: '' }]);
  assert.deepEqual(many.map((r) => r.success), [true, true, false]);
  assert.equal(many[2].errors[0].statusCode, 'REQUIRED_FIELD_MISSING');
  const d = await conn.sobject('Contact').describe();
  assert.equal(d.name, 'Contact');
  assert.ok(d.fields.some((f) => f.name === 'Insight_Id__c' && f.externalId));
  await acc.destroy(created.id);
  await assert.rejects(acc.retrieve(created.id), (e) => e.errorCode === 'NOT_FOUND');
});

test('sandbox login host: OAuth username-password flow via conn.login', { skip: !haveEmu }, async () => {
  const c = new jsforce.Connection({
    oauth2: { loginUrl: E.SFEMU_SANDBOX_LOGIN_URL, clientId: E.SFEMU_CLIENT_ID, clientSecret: E.SFEMU_CLIENT_SECRET, redirectUri: REDIRECT },
    version: '59.0',
  });
  const info = await c.login(E.SFEMU_SANDBOX_USERNAME, E.SFEMU_SANDBOX_PASSWORD);
  assert.equal(info.organizationId, E.SFEMU_SANDBOX_ORG_ID);
  const org = await c.query('SELECT Id, IsSandbox, Name FROM Organization');
  assert.equal(org.records[0].IsSandbox, true);
  // a sandbox user cannot log in at the production login host
  const prod = new jsforce.Connection({
    oauth2: { loginUrl: E.SFEMU_PROD_LOGIN_URL, clientId: E.SFEMU_CLIENT_ID, clientSecret: E.SFEMU_CLIENT_SECRET, redirectUri: REDIRECT },
  });
  await assert.rejects(prod.login(E.SFEMU_SANDBOX_USERNAME, E.SFEMU_SANDBOX_PASSWORD), (e) => e.name === 'invalid_grant');
});

test('composite with @{ref} references through conn.requestPost', { skip: !haveEmu }, async () => {
  const res = await conn.requestPost('/services/data/v59.0/composite', {
    allOrNone: true,
    compositeRequest: [
      { method: 'POST', url: '/services/data/v59.0/sobjects/Account', referenceId: 'acc', body: { Name: 'JS Composite' } },
      { method: 'POST', url: '/services/data/v59.0/sobjects/Contact', referenceId: 'con', body: { LastName: 'JSC', AccountId: '@{acc.id}' } },
    ],
  });
  assert.deepEqual(res.compositeResponse.map((r) => r.httpStatusCode), [201, 201]);
  const q = await conn.query("SELECT Id, Account.Name FROM Contact WHERE LastName = 'JSC'");
  assert.equal(q.records[0].Account.Name, 'JS Composite');
});

test('composite: collections subrequests referring into an earlier collection\'s results by index', { skip: !haveEmu }, async () => {
  const tag = `jsc-${Date.now()}`;
  const res = await conn.requestPost('/services/data/v59.0/composite', {
    allOrNone: false,
    collateSubrequests: false,
    compositeRequest: [
      { method: 'POST', url: '/services/data/v59.0/composite/sobjects', referenceId: 'contacts',
        body: { allOrNone: false, records: [{ attributes: { type: 'Contact' }, LastName: `${tag}-a` }, { attributes: { type: 'Contact' }, LastName: `${tag}-b` }] } },
      { method: 'PATCH', url: '/services/data/v59.0/composite/sobjects/Survey_Response__c/External_Id__c', referenceId: 'responses',
        body: { allOrNone: false, records: [
          { attributes: { type: 'Survey_Response__c' }, External_Id__c: `${tag}-1`, Contact__c: '@{contacts[1].id}' },
          { attributes: { type: 'Survey_Response__c' }, External_Id__c: `${tag}-2`, Contact__c: '@{contacts[0].id}' },
        ] } },
    ],
  });
  assert.deepEqual(res.compositeResponse.map((r) => r.httpStatusCode), [200, 200]);
  const [a, b] = res.compositeResponse[0].body.map((r) => r.id);
  const q = await conn.query(`SELECT External_Id__c, Contact__c FROM Survey_Response__c WHERE External_Id__c LIKE '${tag}-%' ORDER BY External_Id__c`);
  assert.deepEqual(q.records.map((r) => r.Contact__c), [b, a]);
});

test('queryAll sees deleted records (IsDeleted true) that query does not', { skip: !haveEmu }, async () => {
  const tag = `jsbin-${Date.now()}`;
  const acc = conn.sobject('Account');
  const kept = await acc.create({ Name: tag });
  const gone = await acc.create({ Name: tag });
  await acc.destroy(gone.id);
  const soql = `SELECT Id, IsDeleted FROM Account WHERE Name = '${tag}' ORDER BY IsDeleted`;
  const live = await conn.query(soql);
  assert.deepEqual(live.records.map((r) => r.Id), [kept.id]);
  // jsforce 3 asks /queryAll when the query scans all (it has no conn.queryAll).
  const all = await conn.query(soql, { scanAll: true });
  assert.deepEqual(all.records.map((r) => [r.Id, r.IsDeleted]), [[kept.id, false], [gone.id, true]]);
  const deleted = await conn.query(`SELECT Id FROM Account WHERE Name = '${tag}' AND IsDeleted = true`).scanAll(true);
  assert.deepEqual(deleted.records.map((r) => r.Id), [gone.id]);
});

test('a query with a literal that does not fit its field is refused as Salesforce refuses it', { skip: !haveEmu }, async () => {
  const refused = async (soql, errorCode, says) => {
    await assert.rejects(conn.query(soql), (e) => {
      assert.equal(e.errorCode, errorCode, soql);
      assert.ok(e.message.endsWith(says), e.message);
      return true;
    });
  };
  await refused("SELECT Id FROM Opportunity WHERE CloseDate = '2024-01-01'", 'INVALID_FIELD',
    "value of filter criterion for field 'CloseDate' must be of type date and should not be enclosed in quotes");
  await refused('SELECT Id FROM Account WHERE NumberOfEmployees IN (1, \'2\')', 'INVALID_FIELD',
    "value of filter criterion for field 'NumberOfEmployees' must be of type integer and should not be enclosed in quotes");
  await refused("SELECT Id FROM Contact WHERE AccountId = 'abc'", 'INVALID_QUERY_FILTER_OPERATOR', 'invalid ID field: abc');
  await refused('SELECT Id, Name, Name FROM Account', 'INVALID_FIELD', 'duplicate field selected: Name');
  // The same queries with literals of the right type run.
  const ok = await conn.query('SELECT Id FROM Opportunity WHERE CloseDate = THIS_MONTH OR CloseDate IN (2024-01-01)');
  assert.ok(ok.done);
});

test('ORDER BY a parent field sorts by the parent record', { skip: !haveEmu }, async () => {
  const tag = `jsord-${Date.now()}`;
  const [zeta, alpha] = await conn.sobject('Account').create([{ Name: `${tag}-zeta` }, { Name: `${tag}-alpha` }]);
  await conn.sobject('Contact').create([
    { LastName: `${tag}-1`, AccountId: zeta.id },
    { LastName: `${tag}-2`, AccountId: alpha.id },
  ]);
  const q = await conn.query(`SELECT LastName, Account.Name FROM Contact WHERE LastName LIKE '${tag}-%' ORDER BY Account.Name`);
  assert.deepEqual(q.records.map((r) => [r.LastName, r.Account.Name]), [[`${tag}-2`, `${tag}-alpha`], [`${tag}-1`, `${tag}-zeta`]]);
});

test('retrieve many ids through sObject Collections (jsforce POSTs {ids, fields})', { skip: !haveEmu }, async () => {
  const tag = `jsret-${Date.now()}`;
  const acc = conn.sobject('Account');
  const [a, b, gone] = await acc.create([{ Name: `${tag}-a`, Industry: 'Energy' }, { Name: `${tag}-b` }, { Name: `${tag}-gone` }]);
  await acc.destroy(gone.id);
  // jsforce 3 sends POST /composite/sobjects/Account {"ids", "fields"} from v42.0 on.
  const got = await acc.retrieve([b.id, gone.id, a.id], { fields: ['Id', 'Name', 'Industry'] });
  assert.deepEqual(got.map((r) => r && r.Name), [`${tag}-b`, null, `${tag}-a`]);
  assert.equal(got[2].Industry, 'Energy');
  // Without fields jsforce asks for every field describe lists.
  const all = await acc.retrieve([a.id]);
  assert.equal(all[0].Id, a.id);
  assert.ok('CreatedDate' in all[0]);
});

test('a retired API version answers 410 GONE', { skip: !haveEmu }, async () => {
  const made = await conn.sobject('Account').create({ Name: `js-old-${Date.now()}` });
  const old = new jsforce.Connection({ instanceUrl: conn.instanceUrl, accessToken: conn.accessToken, version: '30.0' });
  await assert.rejects(old.sobject('Account').retrieve(made.id), (e) => {
    assert.equal(e.errorCode, 'GONE');
    assert.ok(e.message.length > 0);
    return true;
  });
  await assert.rejects(old.query('SELECT Id FROM Account LIMIT 1'), (e) => e.errorCode === 'GONE');
  const versions = await conn.request('/services/data');
  assert.equal(versions[0].version, '31.0');
  assert.ok(!versions.some((v) => v.version === '30.0'));
});

test('an Opportunity\'s stage sets IsClosed, IsWon, Probability and its forecast category', { skip: !haveEmu }, async () => {
  const opps = conn.sobject('Opportunity');
  const made = await opps.create({ Name: `jsopp-${Date.now()}`, StageName: 'Proposal/Price Quote', CloseDate: '2026-09-30', Amount: 400 });
  const fields = ['IsClosed', 'IsWon', 'Probability', 'ForecastCategory', 'ForecastCategoryName', 'ExpectedRevenue'];
  const derived = async () => { const r = await opps.retrieve(made.id); return fields.map((f) => r[f]); };
  assert.deepEqual(await derived(), [false, false, 75, 'Pipeline', 'Pipeline', 300]);
  await opps.update({ Id: made.id, StageName: 'Closed Lost' });
  assert.deepEqual(await derived(), [true, false, 0, 'Omitted', 'Omitted', 0]);
  // IsClosed is not writable: a single update rejects, a collection update reports it.
  await assert.rejects(opps.update({ Id: made.id, IsClosed: false }), (e) => e.errorCode === 'INVALID_FIELD_FOR_INSERT_UPDATE');
  const [r] = await opps.update([{ Id: made.id, IsClosed: false }]);
  assert.equal(r.success, false);
  assert.equal(r.errors[0].statusCode, 'INVALID_FIELD_FOR_INSERT_UPDATE');
  assert.deepEqual(r.errors[0].fields, ['IsClosed']);
});

test('refresh after the access token expires, then revoke', { skip: !haveEmu }, async () => {
  const before = conn.accessToken;
  let refreshed = 0;
  conn.on('refresh', () => { refreshed += 1; });
  await admin(`/orgs/${E.SFEMU_PROD_ORG_ID}/faults/expire-tokens`);
  const q = await conn.query('SELECT Id FROM Account LIMIT 1');
  assert.ok(q.done);
  assert.equal(refreshed, 1);
  assert.notEqual(conn.accessToken, before);
  const rt = conn.refreshToken;
  await oauth2.revokeToken(rt);
  await assert.rejects(oauth2.refreshToken(rt), (e) => e.name === 'invalid_grant' && /expired access\/refresh token/.test(e.message));
  await assert.rejects(conn.query('SELECT Id FROM Account LIMIT 1'));
});
