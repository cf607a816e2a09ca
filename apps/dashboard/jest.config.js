// Unit tests for the dashboard's pure logic (routing, series merge and seq dedupe, form -> document,
// error-path mapping, compare table, formatting). Run from the repo root:
//   NODE_OPTIONS=--experimental-vm-modules npx jest -c apps/dashboard/jest.config.js
// The root jest config can include it as a project: `projects: [..., '<rootDir>/apps/dashboard']`.
import { fileURLToPath } from 'node:url';

const contracts = fileURLToPath(new URL('../../src/contracts/', import.meta.url));

export default {
  displayName: 'dashboard',
  rootDir: fileURLToPath(new URL('.', import.meta.url)),
  testMatch: ['<rootDir>/src/**/*.spec.ts'],
  extensionsToTreatAsEsm: ['.ts', '.tsx'],
  transform: {
    '^.+\\.tsx?$': ['@swc/jest', { jsc: { parser: { syntax: 'typescript', tsx: true }, target: 'es2022', transform: { react: { runtime: 'automatic' } } }, module: { type: 'es6' } }],
  },
  moduleNameMapper: {
    '^@contracts/(.*?)(\\.js)?$': `${contracts}$1`,
    '^(\\.{1,2}/.*)\\.js$': '$1',
  },
  testEnvironment: 'node',
};
