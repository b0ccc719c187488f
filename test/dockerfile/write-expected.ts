// Writes expected.json for corpus cases from what the frontend produces now:
//   npx tsx test/dockerfile/write-expected.ts CASE...
// Options and the description already in expected.json are kept. Review the
// diff before committing: the file is the specification, not a snapshot.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CORPUS_DIR, describeCase, readCase } from './corpus.js';

const names = process.argv.slice(2);
if (names.length === 0) {
  console.error('usage: npx tsx test/dockerfile/write-expected.ts CASE...');
  process.exit(1);
}
for (const name of names) {
  const { text, expected } = readCase(name);
  const result = describeCase(text, expected?.options ?? {}, expected?.description);
  writeFileSync(join(CORPUS_DIR, name, 'expected.json'), `${JSON.stringify(result, null, 2)}\n`);
  console.log(`${name}: ${result.error ? `error: ${result.error}` : 'ok'}`);
}
