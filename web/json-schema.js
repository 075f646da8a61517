// JSON Schema -> GBNF (llama.cpp's grammar format), for constrained
// decoding: every text the grammar allows parses with JSON.parse and is
// valid against the schema. Supported: type (one or a list), properties +
// required, additionalProperties, enum, const, anyOf / oneOf, allOf of
// objects, items / prefixItems with minItems / maxItems, $ref to #/$defs or
// #/definitions (recursion included), string minLength / maxLength /
// pattern / format (date, time, date-time, uuid), integer and number
// minimum / maximum / exclusiveMinimum / exclusiveMaximum. Keywords that
// constrain values in ways this cannot express (not, if, uniqueItems,
// multipleOf, patternProperties, ...) are refused with an error naming them,
// never silently ignored; annotations (title, description, ...) are ignored.
//
// Choices, for short and deterministic output:
// - properties come in the schema's order, the required ones always, the
//   optional ones each present or not; keys the schema does not declare are
//   never written (additionalProperties is false by default, and when it is
//   true or a schema, declared keys are still the only ones unless the object
//   declares none: then keys are free and values follow that schema);
// - whitespace: none is needed; after `{ [ , :` and before `} ]` at most one
//   space, or a newline and up to 12 spaces or tabs (as llama.cpp's
//   converter allows some), so a model may indent but not ramble;
// - numbers have at most 16 integer digits, 16 decimals and a 2-digit
//   exponent (none when bounded), so JSON.parse never gives Infinity;
// - \u escapes in strings never name a UTF-16 surrogate (lengths count
//   characters exactly);
// - oneOf is treated as anyOf (overlapping alternatives are the schema
//   author's to avoid).

const WS = 'ws ::= | " " | "\\n" [ \\t]{0,12}';
const CHAR = 'char ::= [^"\\\\\\x00-\\x1F] | "\\\\" (["\\\\/bfnrt] | "u" ([0-9a-cA-CefEF] [0-9a-fA-F]{3} | [dD] [0-7] [0-9a-fA-F]{2}))';
const PRIMITIVES = {
  ws: WS,
  char: CHAR,
  string: 'string ::= "\\"" char* "\\""',
  number: 'number ::= "-"? ("0" | [1-9] [0-9]{0,15}) ("." [0-9]{1,16})? ([eE] [-+]? [0-9]{1,2})?',
  integer: 'integer ::= "-"? ("0" | [1-9] [0-9]{0,15})',
  boolean: 'boolean ::= "true" | "false"',
  null: 'null ::= "null"',
  value: 'value ::= object | array | string | number | boolean | null',
  object: 'object ::= "{" ws ( string ws ":" ws value ws ( "," ws string ws ":" ws value ws )* )? "}"',
  array: 'array ::= "[" ws ( value ws ( "," ws value ws )* )? "]"',
  date: 'date ::= [0-9]{4} "-" ( "0" [1-9] | "1" [0-2] ) "-" ( "0" [1-9] | [12] [0-9] | "3" [01] )',
  time: 'time ::= ( [01] [0-9] | "2" [0-3] ) ":" [0-5] [0-9] ":" [0-5] [0-9] ( "." [0-9]{1,6} )? ( "Z" | [+-] ( [01] [0-9] | "2" [0-3] ) ":" [0-5] [0-9] )',
  uuid: 'uuid ::= [0-9a-f]{8} "-" [0-9a-f]{4} "-" [0-9a-f]{4} "-" [0-9a-f]{4} "-" [0-9a-f]{12}',
};
const NEEDS = { string: ['char'], value: ['object', 'array', 'string', 'number', 'boolean', 'null'], object: ['ws', 'string', 'value'], array: ['ws', 'value'] };

const ANNOTATIONS = new Set(['title', 'description', '$schema', '$id', '$comment', 'examples', 'default', 'deprecated', 'readOnly', 'writeOnly',
  'contentMediaType', 'contentEncoding', '$defs', 'definitions', 'format', 'name', 'strict']);
const HANDLED = new Set(['type', 'properties', 'required', 'additionalProperties', 'enum', 'const', 'anyOf', 'oneOf', 'allOf', 'items', 'prefixItems',
  'minItems', 'maxItems', '$ref', 'minLength', 'maxLength', 'pattern', 'minimum', 'maximum', 'exclusiveMinimum', 'exclusiveMaximum', 'nullable']);
const MAX_REPEAT = 10000;

/** A GBNF string literal for text. */
export function literal(text) {
  let out = '"';
  for (const ch of text) {
    const cp = ch.codePointAt(0);
    if (ch === '"' || ch === '\\') out += `\\${ch}`;
    else if (ch === '\n') out += '\\n';
    else if (ch === '\t') out += '\\t';
    else if (cp < 0x20 || cp === 0x7f) out += `\\x${cp.toString(16).padStart(2, '0')}`;
    else out += ch;
  }
  return `${out}"`;
}

/** The JSON text of value as a GBNF literal. */
const jsonLiteral = (value) => literal(JSON.stringify(value));

function fail(path, message) {
  throw new Error(`JSON schema${path ? ` at ${path}` : ''}: ${message}`);
}

// ---- integer and number ranges ----

/** Equal-length digit strings lo..hi as a GBNF expression. */
function sameLength(lo, hi) {
  if (!lo.length) return '""';
  if (lo === hi) return literal(lo);
  if (lo[0] === hi[0]) return `${literal(lo[0])} (${sameLength(lo.slice(1), hi.slice(1))})`;
  const n = lo.length - 1, alts = [];
  let first = +lo[0], last = +hi[0];
  if (!/^0*$/.test(lo.slice(1))) {
    alts.push(`${literal(lo[0])} (${sameLength(lo.slice(1), '9'.repeat(n))})`);
    first++;
  }
  if (!/^9*$/.test(hi.slice(1))) {
    alts.push(`${literal(hi[0])} (${sameLength('0'.repeat(n), hi.slice(1))})`);
    last--;
  }
  if (first <= last) alts.push(`[${first}-${last}]${n ? ` [0-9]{${n}}` : ''}`);
  return alts.join(' | ');
}

/** Decimal integers a..b (0 <= a <= b; b may be Infinity) without leading zeros. */
function unsignedRange(a, b) {
  const alts = [];
  const la = String(a).length, lb = b === Infinity ? 16 : String(b).length;
  for (let len = la; len <= lb; len++) {
    if (b === Infinity && len > la) {
      alts.push(`[1-9] [0-9]{${len - 1},15}`);
      break;
    }
    const lo = len === la ? String(a) : `1${'0'.repeat(len - 1)}`;
    const hi = b !== Infinity && len === lb ? String(b) : '9'.repeat(len);
    alts.push(sameLength(lo, hi));
  }
  return alts.map((x) => `(${x})`).join(' | ');
}

/** Integers lo..hi (either may be infinite); null when none. */
function integerRange(lo, hi) {
  if (lo > hi) return null;
  const alts = [];
  if (hi >= 0) alts.push(unsignedRange(Math.max(0, lo), hi));
  if (lo < 0) {
    const a = Math.max(1, -hi), b = -lo;
    if (a <= b) alts.push(`"-" (${unsignedRange(a, b)})`);
  }
  return alts.map((x) => `(${x})`).join(' | ');
}

function bounds(schema, path, integerOnly) {
  let lo = -Infinity, hi = Infinity, loEx = false, hiEx = false;
  const num = (k) => {
    const v = schema[k];
    if (v === undefined) return undefined;
    if (typeof v !== 'number' || !Number.isFinite(v)) fail(path, `${k} must be a finite number`);
    if (Math.abs(v) > 1e15) fail(path, `${k} beyond ±1e15 is not supported`);
    return v;
  };
  const min = num('minimum'), max = num('maximum'), xmin = num('exclusiveMinimum'), xmax = num('exclusiveMaximum');
  if (min !== undefined) lo = min;
  if (xmin !== undefined && xmin >= lo) [lo, loEx] = [xmin, true];
  if (max !== undefined) hi = max;
  if (xmax !== undefined && xmax <= hi) [hi, hiEx] = [xmax, true];
  const intLo = lo === -Infinity ? lo : loEx && Number.isInteger(lo) ? lo + 1 : Math.ceil(lo);
  const intHi = hi === Infinity ? hi : hiEx && Number.isInteger(hi) ? hi - 1 : Math.floor(hi);
  return { lo, hi, intLo, intHi, bounded: lo !== -Infinity || hi !== Infinity };
}

function integerExpr(schema, path, need) {
  const b = bounds(schema, path, true);
  if (!b.bounded) return need('integer');
  return integerRange(b.intLo, b.intHi) ?? fail(path, `no integer is in the range [${b.lo}, ${b.hi}]`);
}

function numberExpr(schema, path, need) {
  const b = bounds(schema, path, false);
  if (!b.bounded) return need('number');
  // integers in range, then I.fff (fraction ending in 1-9: strictly inside (I, I + 1)) and -J.fff
  const frac = '"." [0-9]{0,5} [1-9]';
  const alts = [];
  const ints = integerRange(b.intLo, b.intHi);
  if (ints) alts.push(ints);
  const iLo = Math.max(0, Math.ceil(b.lo)), iHi = b.hi === Infinity ? Infinity : Math.floor(b.hi) - 1;
  if (iLo <= iHi) alts.push(`(${unsignedRange(iLo, iHi)}) ${frac}`);
  const jLo = Math.max(0, b.hi === Infinity ? 0 : Math.ceil(-b.hi)), jHi = b.lo === -Infinity ? Infinity : Math.floor(-b.lo) - 1;
  if (jLo <= jHi) alts.push(`"-" (${unsignedRange(jLo, jHi)}) ${frac}`);
  if (!alts.length) fail(path, `no number is in the range [${b.lo}, ${b.hi}]`);
  return alts.map((x) => `(${x})`).join(' | ');
}

// ---- patterns: a regular-expression subset, inside a JSON string ----

const SPECIAL = [0x22, 0x5c]; // " and \ need escapes in JSON text
const hex = (cp) => (cp < 0x10000 ? `\\u${cp.toString(16).padStart(4, '0')}` : `\\U${cp.toString(16).padStart(8, '0')}`);

/** A character class (ranges of code points) as JSON-string text: a GBNF expression. */
function classExpr(ranges, negated) {
  const fmt = (rs) => rs.map(([a, b]) => (a === b ? hex(a) : `${hex(a)}-${hex(b)}`)).join('');
  if (negated) return `[^${fmt([...ranges, [0, 0x1f], [0x22, 0x22], [0x5c, 0x5c]])}]`;
  const safe = [], escapes = [];
  const escapeOf = { 0x22: '\\"', 0x5c: '\\\\', 0x0a: '\\n', 0x09: '\\t', 0x0d: '\\r', 0x0c: '\\f', 0x08: '\\b' };
  for (const [a, b] of ranges) {
    for (const cp of [...SPECIAL, 0x08, 0x09, 0x0a, 0x0c, 0x0d]) if (cp >= a && cp <= b && !escapes.includes(escapeOf[cp])) escapes.push(escapeOf[cp]);
    // split around control characters and the specials
    let start = Math.max(a, 0x20);
    for (const cp of SPECIAL) {
      if (cp >= start && cp <= b) {
        if (cp > start) safe.push([start, cp - 1]);
        start = cp + 1;
      }
    }
    if (start <= b) safe.push([start, b]);
  }
  const alts = escapes.map(literal);
  if (safe.length) alts.unshift(`[${fmt(safe)}]`);
  if (!alts.length) return null;
  return alts.length === 1 ? alts[0] : `(${alts.join(' | ')})`;
}

const DIGIT = [[0x30, 0x39]], WORD = [[0x30, 0x39], [0x41, 0x5a], [0x5f, 0x5f], [0x61, 0x7a]], SPACE = [[0x09, 0x0d], [0x20, 0x20], [0xa0, 0xa0], [0x1680, 0x1680],
  [0x2000, 0x200a], [0x2028, 0x2029], [0x202f, 0x202f], [0x205f, 0x205f], [0x3000, 0x3000], [0xfeff, 0xfeff]]; // ECMA-262's \s

export function patternToGrammar(pattern, path = '') {
  let i = 0;
  const err = (what) => fail(path, `pattern ${JSON.stringify(pattern)}: ${what} (at ${i}) is not supported; supported: literals, [classes], ., \\d \\w \\s, groups, |, * + ? {m,n}`);
  const peek = () => pattern[i];
  function escape(inClass) {
    const c = pattern[++i];
    i++;
    if (c === undefined) err('a trailing backslash');
    if (c === 'd') return { ranges: DIGIT };
    if (c === 'w') return { ranges: WORD };
    if (c === 's') return { ranges: SPACE };
    if ('DWS'.includes(c)) {
      if (inClass) err(`\\${c} inside a class`);
      return { ranges: { D: DIGIT, W: WORD, S: SPACE }[c], negated: true };
    }
    if (c === 'n') return { cp: 10 };
    if (c === 't') return { cp: 9 };
    if (c === 'r') return { cp: 13 };
    if (c === 'u' && /^[0-9a-fA-F]{4}$/.test(pattern.slice(i, i + 4))) {
      i += 4;
      return { cp: parseInt(pattern.slice(i - 4, i), 16) };
    }
    if (/[a-zA-Z0-9]/.test(c)) {
      i -= 2;
      err(`the escape \\${c}`);
    }
    return { cp: c.codePointAt(0) };
  }
  function cls() {
    i++; // [
    let negated = false;
    if (peek() === '^') {
      negated = true;
      i++;
    }
    const ranges = [];
    let first = true;
    while (peek() !== ']' || first) {
      first = false;
      if (peek() === undefined) err('an unclosed [');
      let item;
      if (peek() === '\\') item = escape(true);
      else {
        item = { cp: pattern.codePointAt(i) };
        i += item.cp > 0xffff ? 2 : 1;
      }
      if (item.ranges) {
        ranges.push(...item.ranges);
        continue;
      }
      if (peek() === '-' && pattern[i + 1] !== ']' && pattern[i + 1] !== undefined) {
        i++;
        let hi;
        if (peek() === '\\') {
          const e = escape(true);
          if (e.ranges) err('a class shorthand as a range end');
          hi = e.cp;
        } else {
          hi = pattern.codePointAt(i);
          i += hi > 0xffff ? 2 : 1;
        }
        if (hi < item.cp) err('a reversed range');
        ranges.push([item.cp, hi]);
      } else ranges.push([item.cp, item.cp]);
    }
    i++;
    return classExpr(ranges, negated) ?? err('a class of only control characters');
  }
  function atom() {
    const c = peek();
    if (c === '(') {
      i++;
      if (peek() === '?') {
        if (pattern[i + 1] !== ':') err('lookaround or named groups');
        i += 2;
      }
      const inner = alternation();
      if (peek() !== ')') err('an unclosed (');
      i++;
      return `(${inner})`;
    }
    if (c === '[') return cls();
    if (c === '.') {
      i++;
      return '[^"\\\\\\x00-\\x1F\\u2028\\u2029]'; // ECMA-262's . (no line terminators)
    }
    if (c === '\\') {
      const e = escape(false);
      if (e.ranges) return classExpr(e.ranges, !!e.negated);
      return classExpr([[e.cp, e.cp]], false) ?? err('a control character');
    }
    if ('*+?{'.includes(c)) err(`a quantifier with nothing before it`);
    if (c === '^' || c === '$') err('an anchor inside the pattern');
    const cp = pattern.codePointAt(i);
    i += cp > 0xffff ? 2 : 1;
    return classExpr([[cp, cp]], false) ?? err('a control character');
  }
  function sequence() {
    const parts = [];
    while (i < pattern.length && peek() !== '|' && peek() !== ')') {
      if (peek() === '$' && i === pattern.length - 1) {
        i++;
        break;
      }
      let a = atom();
      const q = peek();
      if (q === '*' || q === '+' || q === '?') {
        i++;
        a = `${a}${q}`;
      } else if (q === '{') {
        const m = /^\{(\d*)(,?)(\d*)\}/.exec(pattern.slice(i));
        if (!m || (m[1] === '' && m[3] === '')) err('a malformed {m,n}');
        i += m[0].length;
        if (+m[1] > MAX_REPEAT || +m[3] > MAX_REPEAT) err(`a repetition above ${MAX_REPEAT}`);
        a = `${a}{${m[1] || 0}${m[2]}${m[3]}}`;
      }
      if (peek() === '?') i++; // lazy: the same set of strings
      if (peek() !== undefined && '*+?{'.includes(peek())) err('a quantifier after a quantifier');
      parts.push(a);
    }
    return parts.length ? parts.join(' ') : '""';
  }
  function alternation() {
    const alts = [sequence()];
    while (peek() === '|') {
      i++;
      alts.push(sequence());
    }
    return alts.join(' | ');
  }
  if (peek() === '^') i++; // generated strings match the whole pattern, so they match it anchored or not
  const out = alternation();
  if (i < pattern.length) err(`an unmatched ${pattern[i]}`);
  return out;
}

// ---- schemas ----

/**
 * GBNF for the JSON texts valid against schema (root rule "root").
 * Throws an Error naming the unsupported keyword or construct.
 */
export function jsonSchemaToGrammar(schema) {
  const rules = new Map(); // name -> body
  const bodies = new Map(); // body -> name (identical rules shared)
  const refs = new Map(); // $ref -> rule name
  const used = new Set();

  const need = (name) => {
    if (used.has(name)) return name;
    used.add(name);
    for (const n of NEEDS[name] ?? []) need(n);
    return name;
  };
  const ruleName = (hint) => {
    let base = String(hint).replace(/[^a-zA-Z0-9-]+/g, '-').replace(/^-+|-+$/g, '').toLowerCase() || 'r';
    if (/^[0-9]/.test(base)) base = `r-${base}`;
    if (base in PRIMITIVES || base === 'root') base = `${base}-x`;
    let name = base;
    for (let k = 2; rules.has(name); k++) name = `${base}-${k}`;
    return name;
  };
  const define = (hint, body) => {
    if (bodies.has(body)) return bodies.get(body);
    const name = ruleName(hint);
    rules.set(name, body);
    bodies.set(body, name);
    return name;
  };

  function resolveRef(ref, path) {
    if (refs.has(ref)) return refs.get(ref);
    const m = /^#\/(\$defs|definitions)\/([^/]+)$/.exec(ref);
    if (ref !== '#' && !m) fail(path, `$ref ${JSON.stringify(ref)}: only "#", "#/$defs/Name" and "#/definitions/Name" are supported`);
    const key = m?.[2].replace(/~1/g, '/').replace(/~0/g, '~');
    const target = ref === '#' ? schema : schema?.[m[1]]?.[key];
    if (target === undefined) fail(path, `$ref ${JSON.stringify(ref)} points to nothing`);
    const name = ruleName(ref === '#' ? 'root-ref' : key);
    refs.set(ref, name);
    rules.set(name, ''); // placeholder for recursion
    rules.set(name, visit(target, ref));
    return name;
  }

  function objectExpr(s, path) {
    const props = s.properties ?? {};
    if (typeof props !== 'object' || Array.isArray(props)) fail(path, 'properties must be an object');
    const required = s.required ?? [];
    if (!Array.isArray(required) || required.some((k) => typeof k !== 'string')) fail(path, 'required must be an array of strings');
    for (const k of required) if (!(k in props) && s.additionalProperties === false) fail(path, `required property ${JSON.stringify(k)} is not among properties`);
    const names = Object.keys(props);
    const extra = s.additionalProperties;
    if (!names.length && !required.length) {
      if (extra === false) return '"{" ws "}"';
      const valueRule = extra === undefined || extra === true ? need('value') : visit(extra, `${path}/additionalProperties`);
      need('ws');
      need('string');
      const kv = define('kv', `string ws ":" ws ${valueRule} ws`);
      return `"{" ws ( ${kv} ( "," ws ${kv} )* )? "}"`;
    }
    need('ws');
    const kv = (k) => {
      const sub = props[k] ?? (extra && typeof extra === 'object' ? extra : true);
      const v = visit(sub, `${path}/properties/${k}`);
      return define(`${k}-kv`, `${jsonLiteral(k)} ws ":" ws ${v} ws`);
    };
    const req = [...names.filter((k) => required.includes(k)), ...required.filter((k) => !names.includes(k))];
    const opt = names.filter((k) => !required.includes(k));
    const reqKv = req.map(kv), optKv = opt.map(kv);
    if (req.length) {
      const head = reqKv.join(' "," ws ');
      const tail = optKv.map((r) => `( "," ws ${r} )?`).join(' ');
      return `"{" ws ${head} ${tail} "}"`;
    }
    // only optional ones: any ordered subset, commas between
    let chain = null;
    for (let j = optKv.length - 1; j >= 0; j--) {
      const body = chain ? `${optKv[j]} ( "," ws ${chain} )? | ${chain}` : optKv[j];
      chain = define(`${opt[j]}-rest`, body);
    }
    return `"{" ws ( ${chain} )? "}"`;
  }

  function arrayExpr(s, path) {
    const min = s.minItems ?? 0, max = s.maxItems ?? Infinity;
    if (!Number.isInteger(min) || min < 0) fail(path, 'minItems must be a non-negative integer');
    if (max !== Infinity && (!Number.isInteger(max) || max < min)) fail(path, 'maxItems must be an integer >= minItems');
    if (min > MAX_REPEAT || (max !== Infinity && max > MAX_REPEAT)) fail(path, `minItems/maxItems above ${MAX_REPEAT}`);
    need('ws');
    const prefix = s.prefixItems ?? [];
    if (!Array.isArray(prefix)) fail(path, 'prefixItems must be an array');
    if (Array.isArray(s.items)) fail(path, 'items as an array (old tuple form): use prefixItems');
    const itemSchemas = prefix.map((p, k) => visit(p, `${path}/prefixItems/${k}`));
    const rest = s.items === false ? null : s.items === undefined || s.items === true ? need('value') : visit(s.items, `${path}/items`);
    // element k: the k-th prefix schema, then `rest`
    const n = Math.min(max, rest === null ? prefix.length : Infinity);
    if (min > n) fail(path, `minItems ${min} but at most ${n} items are allowed`);
    const item = (k) => (k < itemSchemas.length ? itemSchemas[k] : rest);
    const parts = [];
    const fixed = Math.max(min, Math.min(itemSchemas.length, n));
    for (let k = 0; k < fixed; k++) parts.push(`${k ? '"," ws ' : ''}${item(k)} ws`);
    let tail = '';
    if (n === Infinity) tail = `( "," ws ${rest} ws )*`;
    else if (n > fixed) tail = `( "," ws ${rest} ws ){0,${n - fixed}}`;
    if (!fixed) {
      if (n === 0) return '"[" ws "]"';
      // optional first item
      const first = `${item(0)} ws`;
      const more = n === Infinity ? `( "," ws ${rest} ws )*` : n > 1 ? `( "," ws ${rest} ws ){0,${n - 1}}` : '';
      return `"[" ws ( ${first} ${more} )? "]"`;
    }
    return `"[" ws ${parts.join(' ')} ${tail} "]"`;
  }

  function stringExpr(s, path) {
    if (s.pattern !== undefined) {
      if (typeof s.pattern !== 'string') fail(path, 'pattern must be a string');
      if (s.minLength !== undefined || s.maxLength !== undefined) fail(path, 'pattern together with minLength/maxLength is not supported');
      return `"\\"" (${patternToGrammar(s.pattern, path)}) "\\""`;
    }
    const fmt = s.format;
    if (fmt === 'date' || fmt === 'time' || fmt === 'uuid') return `"\\"" ${need(fmt)} "\\""`;
    if (fmt === 'date-time') return `"\\"" ${need('date')} "T" ${need('time')} "\\""`;
    const min = s.minLength ?? 0, max = s.maxLength ?? Infinity;
    if (!Number.isInteger(min) || min < 0 || (max !== Infinity && (!Number.isInteger(max) || max < min))) fail(path, 'minLength/maxLength must be integers, minLength <= maxLength');
    if (min > MAX_REPEAT || (max !== Infinity && max > MAX_REPEAT)) fail(path, `minLength/maxLength above ${MAX_REPEAT}`);
    if (min === 0 && max === Infinity) return need('string');
    need('char');
    return `"\\"" char{${min},${max === Infinity ? '' : max}} "\\""`;
  }

  function typed(type, s, path) {
    switch (type) {
      case 'object': return objectExpr(s, path);
      case 'array': return arrayExpr(s, path);
      case 'string': return stringExpr(s, path);
      case 'number': return numberExpr(s, path, need);
      case 'integer': return integerExpr(s, path, need);
      case 'boolean': return need('boolean');
      case 'null': return need('null');
      default: return fail(path, `unknown type ${JSON.stringify(type)}`);
    }
  }

  function visit(s, path) {
    if (s === true || (s && typeof s === 'object' && !Array.isArray(s) && Object.keys(s).every((k) => ANNOTATIONS.has(k)))) return need('value');
    if (s === false) fail(path, 'the schema false allows no value');
    if (!s || typeof s !== 'object' || Array.isArray(s)) fail(path, 'a schema must be an object or a boolean');
    for (const k of Object.keys(s)) if (!HANDLED.has(k) && !ANNOTATIONS.has(k)) fail(path, `the keyword ${JSON.stringify(k)} is not supported`);
    if (s.uniqueItems === true) fail(path, 'uniqueItems is not supported');
    const hint = path.split('/').filter(Boolean).slice(-1)[0] ?? 'root';
    if (s.$ref !== undefined) return resolveRef(s.$ref, path);
    if (s.const !== undefined) return define(`${hint}-const`, jsonLiteral(s.const));
    if (s.enum !== undefined) {
      if (!Array.isArray(s.enum) || !s.enum.length) fail(path, 'enum must be a non-empty array');
      return define(`${hint}-enum`, s.enum.map(jsonLiteral).join(' | '));
    }
    const alts = s.anyOf ?? s.oneOf;
    if (alts !== undefined) {
      if (!Array.isArray(alts) || !alts.length) fail(path, 'anyOf/oneOf must be a non-empty array');
      const key = s.anyOf ? 'anyOf' : 'oneOf';
      const { anyOf, oneOf, ...base } = s;
      const rest = Object.keys(base).filter((k) => !ANNOTATIONS.has(k));
      return define(hint, alts.map((a, k) => visit(rest.length ? { ...base, ...a } : a, `${path}/${key}/${k}`)).join(' | '));
    }
    if (s.allOf !== undefined) {
      if (!Array.isArray(s.allOf)) fail(path, 'allOf must be an array');
      const { allOf, ...merged } = s;
      for (const part of allOf) {
        const p = part?.$ref ? resolveTarget(part.$ref, path) : part;
        if (!p || typeof p !== 'object') fail(path, 'allOf parts must be schemas');
        for (const [k, v] of Object.entries(p)) {
          if (k === 'properties') merged.properties = { ...merged.properties, ...v };
          else if (k === 'required') merged.required = [...(merged.required ?? []), ...v];
          else if (k === 'type' && merged.type !== undefined && merged.type !== v) fail(path, 'allOf with different types is not supported');
          else if (!ANNOTATIONS.has(k) && merged[k] !== undefined && k !== 'type' && JSON.stringify(merged[k]) !== JSON.stringify(v)) fail(path, `allOf combining two ${k} is not supported`);
          else merged[k] = v;
        }
      }
      return visit(merged, path);
    }
    let type = s.type;
    if (type === undefined) {
      if (s.properties || s.required || s.additionalProperties !== undefined) type = 'object';
      else if (s.items !== undefined || s.prefixItems || s.minItems !== undefined || s.maxItems !== undefined) type = 'array';
      else if (s.minLength !== undefined || s.maxLength !== undefined || s.pattern !== undefined) type = 'string';
      else if (['minimum', 'maximum', 'exclusiveMinimum', 'exclusiveMaximum'].some((k) => s[k] !== undefined)) type = 'number';
      else return need('value');
    }
    const types = Array.isArray(type) ? [...type] : [type];
    if (s.nullable === true && !types.includes('null')) types.push('null');
    if (!types.length) fail(path, 'type must not be an empty list');
    if (types.length === 1) {
      const e = typed(types[0], s, path);
      return /^[a-z0-9-]+$/.test(e) ? e : define(hint, e);
    }
    return define(hint, types.map((t) => {
      const e = typed(t, s, path);
      return /^[a-z0-9-]+$/.test(e) ? e : `( ${e} )`;
    }).join(' | '));
  }

  function resolveTarget(ref, path) {
    const m = /^#\/(\$defs|definitions)\/([^/]+)$/.exec(ref);
    const target = m ? schema?.[m[1]]?.[m[2]] : ref === '#' ? schema : undefined;
    if (target === undefined) fail(path, `$ref ${JSON.stringify(ref)} points to nothing`);
    return target;
  }

  const root = visit(schema, '');
  const lines = [`root ::= ${root}`];
  for (const [name, body] of rules) lines.push(`${name} ::= ${body}`);
  for (const name of Object.keys(PRIMITIVES)) if (used.has(name)) lines.push(PRIMITIVES[name]);
  return `${lines.join('\n')}\n`;
}

/** GBNF for an OpenAI-style response_format: { type: 'json_object' } or { type: 'json_schema', json_schema: { schema } }. */
export function responseFormatGrammar(format) {
  if (!format || typeof format !== 'object') throw new TypeError('responseFormat must be an object such as { type: \'json_object\' }');
  if (format.type === 'json_object') return jsonSchemaToGrammar({ type: 'object' });
  if (format.type === 'json_schema') {
    const js = format.json_schema;
    if (!js || typeof js !== 'object' || js.schema === undefined) throw new TypeError('responseFormat: { type: \'json_schema\' } needs json_schema: { schema, name?, strict? }');
    return jsonSchemaToGrammar(js.schema);
  }
  if (format.type === 'text') return null;
  throw new TypeError(`responseFormat.type must be 'json_object', 'json_schema' or 'text', got ${JSON.stringify(format.type)}`);
}
