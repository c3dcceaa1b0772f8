// Reads vitest JSON reports and fails when any test failed, was skipped or is a todo: CI must
// run every end-to-end test, never skip one silently. Prints the plain closing line CI reads.
import { readFileSync } from 'node:fs';

let passed = 0;
let failed = 0;
let skipped = 0;
for (const file of process.argv.slice(2)) {
  const report = JSON.parse(readFileSync(file, 'utf8'));
  passed += report.numPassedTests;
  failed += report.numFailedTests;
  skipped += report.numPendingTests + report.numTodoTests;
  if (report.numTotalTests === 0) {
    console.error(`${file}: no test ran`);
    failed += 1;
  }
  for (const suite of report.testResults) {
    for (const test of suite.assertionResults) {
      if (test.status === 'pending' || test.status === 'skipped' || test.status === 'todo') {
        console.error(`skipped: ${test.fullName} (${suite.name})`);
      }
    }
  }
}
console.log(`${passed} passed, ${failed} failed, ${skipped} skipped`);
process.exit(failed > 0 || skipped > 0 ? 1 : 0);
