// Prints a node-test style summary of a jest --json result file: `# pass N`, `# fail N`,
// `# skip N`, and the full name of each failed test with its first error line.
const fs = require('fs');
const r = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));
for (const file of r.testResults) {
  for (const t of file.assertionResults) {
    if (t.status === 'failed') {
      const msg = (t.failureMessages[0] || '').split('\n')[0];
      console.log(`not ok - ${t.fullName} (${file.name.split('/').pop()})\n  # ${msg}`);
    }
    // jsforce's oauth2 and connection-session files retry failed tests (jest.retryTimes(2)):
    // a pass on a retry is reported, so a flaky answer of the emulator does not go unseen.
    if (t.status === 'passed' && t.invocations > 1) {
      console.log(`# retried - ${t.fullName} (${file.name.split('/').pop()}) passed on attempt ${t.invocations}`);
    }
  }
  if (file.failureMessage && file.assertionResults.length === 0) {
    console.log(`not ok - ${file.name.split('/').pop()} did not run\n  # ${file.failureMessage.split('\n').slice(0, 3).join(' ')}`);
  }
}
for (const file of r.testResults) {
  const n = (st) => file.assertionResults.filter((t) => t.status === st).length;
  console.log(`# file ${file.name.split('/').pop()} pass=${n('passed')} fail=${n('failed')} skip=${n('pending') + n('skipped') + n('todo')}`);
}
const failedSuites = r.testResults.filter((f) => f.assertionResults.length === 0 && f.failureMessage).length;
console.log(`# tests ${r.numTotalTests}`);
console.log(`# pass ${r.numPassedTests}`);
console.log(`# fail ${r.numFailedTests + failedSuites}`);
console.log(`# skip ${r.numPendingTests + r.numTodoTests}`);
