// Kept for tests written before tests/fixtures existed (branches in flight):
// sharedPath(...) and SHARED now name the fixtures (tests/helpers/fixtures.mjs),
// which hold the same files under the same names. New tests import fixtures.mjs.
export { argmax, errRows, fixture as sharedPath, logSoftmaxRows, readF32, readJson, ROOT } from './fixtures.mjs';
import { fixturesDir } from './fixtures.mjs';

export const SHARED = fixturesDir();
