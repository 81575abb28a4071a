// Shared helpers of check-manifests.mjs and check-json.mjs: building an Ajv
// instance for a schema's dialect and turning Ajv's errors into short,
// operator-readable reasons ("spec.stages[1].gate.soak: must match ...").
import fs from 'node:fs';
import Ajv from 'ajv';
import Ajv2019 from 'ajv/dist/2019.js';
import Ajv2020 from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';

export class UsageError extends Error {}

// Reads and compiles a JSON Schema file. Throws UsageError on any problem.
export function compileSchemaFile(schemaPath, {lax = false} = {}) {
  let schema;
  try {
    schema = JSON.parse(fs.readFileSync(schemaPath, 'utf8'));
  } catch (e) {
    throw new UsageError(`cannot read schema ${schemaPath}: ${e.message}`);
  }
  const dialect = typeof schema.$schema === 'string' ? schema.$schema : '';
  const Cls = dialect.includes('draft-07') || dialect.includes('draft-06')
    ? Ajv
    : dialect.includes('2019-09')
      ? Ajv2019
      : Ajv2020;
  const ajv = new Cls({
    strict: lax ? 'log' : true,
    // prefixItems (the first stage) followed by an open-ended items schema is
    // exactly what we mean; strictTuples would demand a fixed-length tuple.
    strictTuples: false,
    // The "exactly one of gray, group, devices, all" choice is a oneOf of
    // {required: [...]} branches naming keys defined by the sibling
    // `properties`; Ajv checks oneOf before properties, so strictRequired
    // would call them undefined.
    strictRequired: false,
    allErrors: true,
    verbose: true, // errors carry data, schema and parentSchema for formatting
    logger: lax ? console : false,
  });
  addFormats(ajv);
  try {
    return ajv.compile(schema);
  } catch (e) {
    throw new UsageError(`schema ${schemaPath} does not compile: ${e.message}`);
  }
}

// ---------------------------------------------------------------------------
// Error formatting

function decodePointer(pointer) {
  if (pointer === '') return [];
  return pointer.slice(1).split('/').map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));
}

// JSON pointer -> spec.stages[1].gate.soak, walking the document so numeric
// map keys (labels) are not mistaken for list indexes.
export function displayPath(doc, pointer, extra) {
  const segments = decodePointer(pointer);
  if (extra !== undefined) segments.push(extra);
  let out = '';
  let node = doc;
  for (const seg of segments) {
    if (Array.isArray(node)) {
      out += `[${seg}]`;
    } else if (/^[A-Za-z_$][A-Za-z0-9_$-]*$/.test(seg)) {
      out += out === '' ? seg : `.${seg}`;
    } else {
      out += `[${JSON.stringify(seg)}]`;
    }
    node = node !== null && typeof node === 'object' && Object.hasOwn(node, seg) ? node[seg] : undefined;
  }
  return out === '' ? '(document)' : out;
}

export function describeValue(v) {
  if (v === null) return 'null (an empty value)';
  if (Array.isArray(v)) return 'a list';
  switch (typeof v) {
    case 'object': return 'a mapping';
    case 'string': return `string ${JSON.stringify(v)}`;
    case 'number': return Number.isInteger(v) ? `integer ${v}` : `number ${v}`;
    case 'boolean': return `boolean ${v}`;
    default: return String(v);
  }
}

function isRequiredOnlyBranches(branches) {
  return Array.isArray(branches) && branches.length > 0 && branches.every((b) =>
    b !== null && typeof b === 'object' && Array.isArray(b.required) &&
    Object.keys(b).every((k) => k === 'required' || k === 'description' || k === '$comment'));
}

function joinOr(list) {
  return list.length <= 1 ? list.join('') : `${list.slice(0, -1).join(', ')} or ${list[list.length - 1]}`;
}

function messageFor(e) {
  const p = e.params || {};
  const found = `, found ${describeValue(e.data)}`;
  switch (e.keyword) {
    case 'required': return `missing required key "${p.missingProperty}"`;
    case 'additionalProperties': return `unknown key "${p.additionalProperty}"`;
    case 'type': return `must be ${Array.isArray(p.type) ? joinOr(p.type) : p.type}${found}`;
    case 'enum': return `must be one of ${p.allowedValues.map((v) => JSON.stringify(v)).join(', ')}${found}`;
    case 'const': return `must be ${JSON.stringify(p.allowedValue)}${found}`;
    case 'pattern': return `must match ${p.pattern}${found}`;
    case 'format': return `must be a valid ${p.format}${p.format === 'date-time' ? ' (RFC 3339, e.g. 2026-12-01T02:00:00Z)' : ''}${found}`;
    case 'minimum': case 'maximum': case 'exclusiveMinimum': case 'exclusiveMaximum':
      return `must be ${p.comparison} ${p.limit}${found}`;
    case 'minLength': return `must have at least ${p.limit} character(s)${found}`;
    case 'maxLength': return `must have at most ${p.limit} characters${found}`;
    case 'minItems': return `must have at least ${p.limit} item(s), found ${Array.isArray(e.data) ? e.data.length : 0}`;
    case 'maxItems': return `must have at most ${p.limit} items`;
    case 'uniqueItems': return `must not contain duplicates (items ${p.j} and ${p.i} are equal: ${JSON.stringify(e.data[p.i])})`;
    case 'dependentRequired': case 'dependencies':
      return `"${p.property}" requires "${p.missingProperty}" in the same block`;
    case 'not':
      return e.parentSchema && e.parentSchema.description ? `is ${e.parentSchema.description}` : 'is not allowed here';
    case 'false schema': return 'is not allowed here';
    default: return e.message;
  }
}

// Returns the reasons, most useful first, one string each.
export function formatErrors(errors, doc) {
  if (!errors || errors.length === 0) return [];
  const dropped = new Set();
  const extra = [];
  for (const e of errors) {
    if (e.keyword === 'if') dropped.add(e);
    if (e.keyword !== 'oneOf' && e.keyword !== 'anyOf') continue;
    const prefix = `${e.schemaPath}/`;
    const inner = errors.filter((x) => x !== e && x.schemaPath.startsWith(prefix));
    if (isRequiredOnlyBranches(e.schema)) {
      // "exactly one of gray, group, devices, all" style choices.
      for (const x of inner) dropped.add(x);
      const keys = e.schema.map((b) => b.required.join('+'));
      const present = e.schema.filter((b) => b.required.every((k) => e.data && Object.hasOwn(e.data, k)))
        .map((b) => b.required.join('+'));
      let msg;
      if (e.keyword === 'anyOf') msg = `must have at least one of ${keys.join(', ')}`;
      else if (present.length === 0) msg = `must have exactly one of ${keys.join(', ')}, found none`;
      else msg = `must have exactly one of ${keys.join(', ')}, found ${present.join(' and ')}`;
      extra.push({e, msg});
      dropped.add(e);
      continue;
    }
    // Alternatives of different types (gray: 10 or "10%"): drop the combinator
    // and the type mismatches of branches whose type did not apply, unless
    // nothing else is left.
    dropped.add(e);
    const typeErrs = inner.filter((x) => x.keyword === 'type' && x.instancePath === e.instancePath);
    if (typeErrs.length === inner.length) {
      for (const x of typeErrs) dropped.add(x);
      const types = typeErrs.flatMap((x) => (Array.isArray(x.params.type) ? x.params.type : [x.params.type]));
      extra.push({e, msg: `must be ${joinOr([...new Set(types)])}, found ${describeValue(e.data)}`});
    } else {
      for (const x of typeErrs) dropped.add(x);
    }
  }
  const out = [];
  for (const e of errors) {
    const replaced = extra.find((x) => x.e === e);
    if (replaced) {
      out.push(`${displayPath(doc, e.instancePath)}: ${replaced.msg}`);
      continue;
    }
    if (dropped.has(e)) continue;
    const path = e.keyword === 'additionalProperties'
      ? displayPath(doc, e.instancePath, e.params.additionalProperty)
      : displayPath(doc, e.instancePath);
    let msg = messageFor(e);
    if (e.schemaPath.includes('/then/') && e.parentSchema && e.parentSchema.description) {
      msg += ` (${e.parentSchema.description})`;
    }
    out.push(`${path}: ${msg}`);
  }
  // Deduplicate (the same failure can surface through several $refs).
  return [...new Set(out)];
}
