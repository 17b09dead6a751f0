// jsforce's Bulk API 2.0 client (conn.bulk2, unchanged, from npm) against sfemu's ingest jobs.
'use strict';
const { test, before } = require('node:test');
const assert = require('node:assert/strict');
const jsforce = require('jsforce');

const E = process.env;
const haveEmu = !!E.SFEMU_PROD_LOGIN_URL;
let conn;

before(async () => {
  if (!haveEmu) return;
  conn = new jsforce.Connection({
    oauth2: { loginUrl: E.SFEMU_PROD_LOGIN_URL, clientId: E.SFEMU_CLIENT_ID, clientSecret: E.SFEMU_CLIENT_SECRET, redirectUri: 'http://localhost:8765/cb' },
    version: '59.0',
  });
  await conn.login(E.SFEMU_PROD_USERNAME, E.SFEMU_PROD_PASSWORD);
  conn.bulk2.pollInterval = 20;
});

const tag = () => 'bulk-js-' + Math.random().toString(36).slice(2, 10);

test('loadAndWaitForResults: insert with one bad row, results map back', { skip: !haveEmu }, async () => {
  const t = tag();
  const res = await conn.bulk2.loadAndWaitForResults({
    object: 'Account',
    operation: 'insert',
    input: [
      { Name: `${t} A`, NumberOfEmployees: 5 },
      { Name: `${t} B`, NumberOfEmployees: 'many' },
      { Name: `${t} C`, Description: null },
    ],
  });
  assert.equal(res.successfulResults.length, 2);
  assert.deepEqual(res.successfulResults.map((r) => r.Name), [`${t} A`, `${t} C`]);
  for (const r of res.successfulResults) {
    assert.equal(r.sf__Created, 'true');
    assert.match(r.sf__Id, /^001/);
  }
  assert.equal(res.failedResults.length, 1);
  assert.equal(res.failedResults[0].Name, `${t} B`);
  assert.match(res.failedResults[0].sf__Error, /^JSON_PARSER_ERROR:/);
  assert.deepEqual(res.unprocessedRecords, []);
  const q = await conn.query(`SELECT Id, NumberOfEmployees FROM Account WHERE Name = '${t} A'`);
  assert.equal(q.records[0].Id, res.successfulResults[0].sf__Id);
  assert.equal(q.records[0].NumberOfEmployees, 5);
});

test('loadAndWaitForResults: upsert by external id, created and updated', { skip: !haveEmu }, async () => {
  const t = tag();
  const made = await conn.sobject('Contact').create({ LastName: 'Before', Insight_Id__c: `${t}-1` });
  const res = await conn.bulk2.loadAndWaitForResults({
    object: 'Contact',
    operation: 'upsert',
    externalIdFieldName: 'Insight_Id__c',
    input: [{ Insight_Id__c: `${t}-1`, LastName: 'After' }, { Insight_Id__c: `${t}-2`, LastName: 'New' }],
  });
  assert.equal(res.failedResults.length, 0);
  const byExt = Object.fromEntries(res.successfulResults.map((r) => [r.Insight_Id__c, r]));
  assert.equal(byExt[`${t}-1`].sf__Created, 'false');
  assert.equal(byExt[`${t}-1`].sf__Id, made.id);
  assert.equal(byExt[`${t}-2`].sf__Created, 'true');
  const after = await conn.sobject('Contact').retrieve(made.id);
  assert.equal(after.LastName, 'After');
});

test('job step by step: open, upload, close, poll, results, and errors', { skip: !haveEmu }, async () => {
  const job = conn.bulk2.createJob({ object: 'Account', operation: 'insert' });
  const info = await job.open();
  assert.equal(info.state, 'Open');
  await job.uploadData(`Name\n${tag()}\n`);
  await job.close();
  await job.poll(20, 10000);
  assert.equal(job.getInfo().state, 'JobComplete');
  assert.equal(job.getInfo().numberRecordsProcessed, 1);
  const ok = await job.getSuccessfulResults();
  assert.equal(ok.length, 1);
  // aborting a finished job is refused with Salesforce's code
  await assert.rejects(job.abort(), (e) => e.errorCode === 'INVALIDJOBSTATE');
  await job.delete();
  await assert.rejects(conn.bulk2.job('ingest', { id: job.id }).check(), (e) => e.errorCode === 'NOT_FOUND');
  // an unknown object
  await assert.rejects(conn.bulk2.createJob({ object: 'Nope__c', operation: 'insert' }).open(),
    (e) => e.errorCode === 'INVALIDJOB' && /Unable to find object: Nope__c/.test(e.message));
});
