// jest 30 in ESM mode (NODE_OPTIONS=--experimental-vm-modules) with @swc/jest: NestJS 12 is ESM-only.
const swc = [
  '@swc/jest',
  {
    jsc: {
      parser: { syntax: 'typescript', decorators: true },
      transform: { legacyDecorator: true, decoratorMetadata: true, useDefineForClassFields: false },
      target: 'es2022',
    },
    module: { type: 'es6' },
  },
];
const common = {
  extensionsToTreatAsEsm: ['.ts'],
  transform: { '^.+\\.ts$': swc },
  // Source imports carry .js (NodeNext); map them back to the .ts files for jest.
  moduleNameMapper: { '^(\\.{1,2}/.*)\\.js$': '$1' },
  testEnvironment: 'node',
};
export default {
  projects: [
    { ...common, displayName: 'unit', testMatch: ['<rootDir>/src/**/*.spec.ts', '<rootDir>/test/unit/**/*.spec.ts'] },
    // pythonia keeps a bridge object on globalThis whose setters recurse under jest's soft globals
    // cleanup; the e2e tests own their processes, so cleanup between files is not needed there.
    { ...common, displayName: 'e2e', testMatch: ['<rootDir>/test/e2e/**/*.e2e.spec.ts'], testEnvironmentOptions: { globalsCleanup: 'off' } },
  ],
};
