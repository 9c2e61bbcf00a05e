// Unit tests for the pure parts (src/jobs.ts, src/form.ts): no DOM, no JupyterLab.
module.exports = {
  testEnvironment: 'node',
  testRegex: 'src/.*\\.spec\\.ts$',
  transform: {
    '^.+\\.ts$': ['ts-jest', { tsconfig: { module: 'commonjs', types: ['jest'], strict: true, esModuleInterop: true } }]
  }
};
