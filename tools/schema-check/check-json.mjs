#!/usr/bin/env node
// Usage: node check-json.mjs [--lax] SCHEMA FILE...
//
// Validates JSON files against a JSON Schema (2020-12 by default; draft-07
// and 2019-09 when the schema's $schema says so) with Ajv in strict mode,
// all errors, plus ajv-formats. Prints one line per file:
//   valid FILE
//   invalid FILE: reason; reason; ...
// Exit status: 0 all valid, 1 at least one invalid (or unreadable / not JSON),
// 2 usage error or a schema that does not compile. --lax turns Ajv's strict
// mode schema complaints into warnings on stderr.
import fs from 'node:fs';
import {UsageError, compileSchemaFile, formatErrors} from './lib.mjs';

const USAGE = 'usage: node check-json.mjs [--lax] SCHEMA FILE...';

function main(argv) {
  const lax = argv.includes('--lax');
  const args = argv.filter((a) => a !== '--lax');
  if (args.length < 2 || args.includes('-h') || args.includes('--help')) throw new UsageError(USAGE);
  const [schemaPath, ...files] = args;
  const validate = compileSchemaFile(schemaPath, {lax});
  let bad = 0;
  for (const file of files) {
    let doc;
    try {
      doc = JSON.parse(fs.readFileSync(file, 'utf8'));
    } catch (e) {
      bad++;
      console.log(`invalid ${file}: ${e.code === 'ENOENT' ? 'cannot read: ENOENT' : `not JSON: ${e.message}`}`);
      continue;
    }
    if (validate(doc)) {
      console.log(`valid ${file}`);
    } else {
      bad++;
      console.log(`invalid ${file}: ${formatErrors(validate.errors, doc).join('; ')}`);
    }
  }
  return bad ? 1 : 0;
}

try {
  process.exitCode = main(process.argv.slice(2));
} catch (e) {
  if (!(e instanceof UsageError)) throw e;
  console.error(`check-json: ${e.message}`);
  process.exitCode = 2;
}
