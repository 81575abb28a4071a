#!/usr/bin/env node
// Usage: node check-manifests.mjs SCHEMA FILE_OR_DIR...
//
// Validates otaroll rollout manifests against a JSON Schema, the way an
// editor or another tool would see them: every YAML document of every file is
// loaded with js-yaml's YAML 1.2 core schema (timestamps stay strings, `yes`
// is a string, duplicate mapping keys are errors) and checked with Ajv
// (JSON Schema 2020-12, strict, all errors) plus ajv-formats. Empty documents
// are skipped; a file without documents is valid.
//
// Prints one line per file, in argument order:
//   valid FILE
//   invalid FILE: <first reason>[ (+N more)]
// Directories are expanded to their *.yaml / *.yml files, recursively, hidden
// entries skipped, sorted. Exit status: 0 (whatever the verdicts), 2 on a
// usage error or a schema that does not compile.
import fs from 'node:fs';
import path from 'node:path';
import * as yaml from 'js-yaml';
import {UsageError, compileSchemaFile, formatErrors} from './lib.mjs';

const USAGE = 'usage: node check-manifests.mjs SCHEMA FILE_OR_DIR...';

function expand(arg) {
  let st;
  try {
    st = fs.statSync(arg);
  } catch {
    return [arg]; // reported as unreadable below
  }
  if (!st.isDirectory()) return [arg];
  const out = [];
  const walk = (dir) => {
    const entries = fs.readdirSync(dir, {withFileTypes: true})
      .filter((d) => !d.name.startsWith('.'))
      .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const d of entries) {
      const p = path.join(dir, d.name);
      if (d.isDirectory()) walk(p);
      else if (/\.ya?ml$/.test(d.name)) out.push(p);
    }
  };
  walk(arg);
  return out;
}

// YAML allows only printable characters: no C0 controls other than TAB, LF
// and CR, no DEL or C1 controls (js-yaml lets some of them through inside
// quotes or comments; we reject them everywhere, which is the rule the C++
// loader applies too: one byte-level check, no per-context exceptions).
const NON_PRINTABLE = /[\x00-\x08\x0B\x0C\x0E-\x1F\x7F-\x9F\uFFFE\uFFFF]/;

function position(text, index) {
  const before = text.slice(0, index);
  const line = before.split('\n').length;
  return `${line}:${index - before.lastIndexOf('\n')}`;
}

// Decodes UTF-8 strictly (a leading BOM is dropped). Returns {text} or {reason}.
function decode(bytes) {
  let text;
  try {
    text = new TextDecoder('utf-8', {fatal: true}).decode(bytes);
  } catch {
    let ok = 0; // find the first bad byte for the message
    for (let n = 1; n <= bytes.length; n++) {
      try {
        new TextDecoder('utf-8', {fatal: true}).decode(bytes.subarray(0, n));
        ok = n;
      } catch {
        if (n - ok > 4) break;
      }
    }
    const good = new TextDecoder('utf-8').decode(bytes.subarray(0, ok));
    return {reason: `YAML error: the file is not valid UTF-8 (${position(good, good.length)})`};
  }
  const m = NON_PRINTABLE.exec(text);
  if (m) {
    const code = m[0].codePointAt(0).toString(16).toUpperCase().padStart(4, '0');
    return {reason: `YAML error: non-printable character U+${code} (${position(text, m.index)})`};
  }
  return {text};
}

// Returns null when valid, else {reason, more}.
function checkText(validate, text) {
  let docs;
  try {
    docs = yaml.loadAll(text, {schema: yaml.CORE_SCHEMA});
  } catch (e) {
    const first = String(e && e.message ? e.message : e).split('\n')[0];
    return {reason: `YAML error: ${first}`, more: 0};
  }
  const reasons = [];
  docs.forEach((doc, i) => {
    if (doc === null || doc === undefined) return; // empty document
    if (validate(doc)) return;
    const where = docs.length > 1 ? `document ${i + 1}: ` : '';
    for (const r of formatErrors(validate.errors, doc)) reasons.push(where + r);
  });
  if (reasons.length === 0) return null;
  return {reason: reasons[0], more: reasons.length - 1};
}

function main(argv) {
  if (argv.length < 2 || argv.includes('-h') || argv.includes('--help')) {
    throw new UsageError(USAGE);
  }
  const [schemaPath, ...args] = argv;
  const validate = compileSchemaFile(schemaPath);
  for (const file of args.flatMap(expand)) {
    let bytes;
    try {
      bytes = fs.readFileSync(file);
    } catch (e) {
      console.log(`invalid ${file}: cannot read: ${e.code || e.message}`);
      continue;
    }
    const decoded = decode(bytes);
    const res = decoded.reason ? {reason: decoded.reason, more: 0} : checkText(validate, decoded.text);
    if (res === null) console.log(`valid ${file}`);
    else console.log(`invalid ${file}: ${res.reason}${res.more ? ` (+${res.more} more)` : ''}`);
  }
  return 0;
}

try {
  process.exitCode = main(process.argv.slice(2));
} catch (e) {
  if (!(e instanceof UsageError)) throw e;
  console.error(`check-manifests: ${e.message}`);
  process.exitCode = 2;
}
