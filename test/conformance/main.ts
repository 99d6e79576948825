/**
 * `npm run conformance [-- [-v] [TEST_NAME_PART...]]`: replays the Gateway API conformance data
 * and prints each test's result and the totals. Exits 1 on an unexpected result (a failure
 * outside test/conformance/expected.ts, or a listed case that passes), 2 without the data.
 */
import { CONFORMANCE_ROOT, conformanceDataPresent } from './data.js';
import { replay } from './replay.js';
import { summary, testLine } from './report.js';

const args = process.argv.slice(2);
const verbose = args.includes('-v') || args.includes('--verbose');
const only = args.filter((a) => !a.startsWith('-'));

if (!conformanceDataPresent()) {
  process.stderr.write(
    `conformance: no data at ${CONFORMANCE_ROOT}/tests.json. Check out the project's shared folder next to the repository (../shared) or set LEGATE_SHARED to it.\n`,
  );
  process.exit(2);
}
const result = await replay({ ...(only.length > 0 ? { only } : {}), onTest: (t) => process.stdout.write(testLine(t, verbose) + '\n') });
process.stdout.write(summary(result) + '\n');
process.exitCode = result.unexpected === 0 ? 0 : 1;
