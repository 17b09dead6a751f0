// jsforce's jest.config.js (vendored beside this file) maps `jsforce` to the root of its own
// checkout; here `jsforce` is the published package in node_modules, so no mapping is needed.
// Everything else is the vendored configuration.
const upstream = require('./jest.config.js');

module.exports = {
  testMatch: upstream.testMatch,
  verbose: upstream.verbose,
  setupFilesAfterEnv: upstream.setupFilesAfterEnv,
};
