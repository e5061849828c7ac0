// Transpile-only (swc): type-checking belongs to `npm run build`, not to every test run.
// file-type and its helpers ship only as ES modules, so they are transpiled too.
const esmOnly = ['file-type', 'strtok3', 'token-types', 'peek-readable', '@tokenizer', 'uint8array-extras', '@borewit'];
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/__tests__'],
  testMatch: ['**/*.test.ts'],
  transform: { '^.+\\.(t|j|mj)sx?$': ['@swc/jest', { jsc: { target: 'es2022' }, module: { type: 'commonjs' } }] },
  transformIgnorePatterns: [`/node_modules/(?!(${esmOnly.join('|')})/)`],
  setupFilesAfterEnv: ['<rootDir>/setup.js'],
  testTimeout: 30000,
  // Every core, not jest's default of one fewer: the soak and the stand-in suites wait on I/O (moto,
  // s3rver, dynalite) most of the time, so on 2 cores this cuts npm test from ~49 s to ~30-37 s.
  maxWorkers: '100%',
};
