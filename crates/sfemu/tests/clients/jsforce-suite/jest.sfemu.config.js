// jsforce's jest.config.js (vendored beside this file) maps `jsforce` to the root of its own
// checkout; here `jsforce` is the published package in node_modules, so no mapping is needed.
// The files are transformed by jsforce's own babel.config.js as upstream, plus unskip.js,
// which lifts jsforce's `describe.skip` of the blocks listed in upstream-skipped.txt.
const upstream = require('./jest.config.js');

module.exports = {
  testMatch: upstream.testMatch,
  verbose: upstream.verbose,
  setupFilesAfterEnv: upstream.setupFilesAfterEnv,
  transform: {
    '\\.[jt]sx?$': ['babel-jest', { plugins: [require.resolve('./unskip.js')] }],
  },
};
