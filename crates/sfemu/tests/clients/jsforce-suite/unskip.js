// A babel plugin applied as jsforce's test files are loaded (the files on disk are unchanged):
// - `describe.skip('NAME', …)` becomes `describe('NAME', …)` for the names in
//   upstream-skipped.txt (jsforce skips them for reasons of its CI, not of Salesforce's API);
// - `jest.retryTimes(n)` also logs the error of each failed attempt (logErrorsBeforeRetry),
//   so a test that passes only on a retry shows why it failed first.
const fs = require('fs');
const path = require('path');

const names = new Set(fs.readFileSync(path.join(__dirname, 'upstream-skipped.txt'), 'utf8').split('\n')
  .map((l) => l.trim()).filter((l) => l && !l.startsWith('#')));

module.exports = function unskip({ types: t }) {
  return {
    name: 'sfemu-unskip',
    visitor: {
      CallExpression(p) {
        const { callee, arguments: args } = p.node;
        if (t.isMemberExpression(callee) && t.isIdentifier(callee.object, { name: 'describe' })
          && t.isIdentifier(callee.property, { name: 'skip' }) && t.isStringLiteral(args[0])
          && names.has(args[0].value)) {
          p.node.callee = t.identifier('describe');
        }
        if (t.isMemberExpression(callee) && t.isIdentifier(callee.object, { name: 'jest' })
          && t.isIdentifier(callee.property, { name: 'retryTimes' }) && args.length === 1) {
          args.push(t.objectExpression([t.objectProperty(t.identifier('logErrorsBeforeRetry'), t.booleanLiteral(true))]));
        }
      },
    },
  };
};
