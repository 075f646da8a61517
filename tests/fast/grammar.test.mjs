// Constrained decoding: GBNF grammars and JSON schemas (response_format) on
// the shared tiny models, at temperature 1 with several seeds: every output
// matches the grammar, parses with JSON.parse and validates against its
// schema, even from random weights; the cost of the mask per token is
// printed next to a decode step's.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { loadModel } from '../../web/index.js';
import { jsonSchemaToGrammar, patternToGrammar } from '../../web/json-schema.js';
import { fixture } from '../helpers/fixtures.mjs';

const MODELS = ['tiny-brown-f32.gguf', 'tiny-qwen2-Q8_0.gguf', 'tiny-llama-Q4_0.gguf'];

/** Validates value against the schema subset web/json-schema.js supports; returns a list of problems. */
function validate(schema, value, root = schema, path = '$') {
  const errs = [];
  const bad = (m) => errs.push(`${path}: ${m} (${JSON.stringify(value)})`);
  if (schema === true || schema === undefined) return errs;
  if (schema.$ref) {
    const name = schema.$ref.split('/').pop();
    return validate(schema.$ref === '#' ? root : (root.$defs ?? root.definitions)[name], value, root, path);
  }
  if ('const' in schema && JSON.stringify(schema.const) !== JSON.stringify(value)) bad('not the const');
  if (schema.enum && !schema.enum.some((e) => JSON.stringify(e) === JSON.stringify(value))) bad('not in enum');
  const alts = schema.anyOf ?? schema.oneOf;
  if (alts) {
    const ok = alts.filter((a) => validate(a, value, root, path).length === 0).length;
    if (schema.oneOf ? ok !== 1 : ok < 1) bad(`matches ${ok} of the alternatives`);
  }
  const typeOf = (v) => (v === null ? 'null' : Array.isArray(v) ? 'array' : Number.isInteger(v) ? 'integer' : typeof v);
  if (schema.type) {
    const types = [].concat(schema.type);
    const t = typeOf(value);
    if (!types.includes(t) && !(t === 'integer' && types.includes('number'))) bad(`type ${t}, want ${types}`);
  }
  if (typeof value === 'number') {
    if (schema.minimum !== undefined && value < schema.minimum) bad('below minimum');
    if (schema.maximum !== undefined && value > schema.maximum) bad('above maximum');
    if (schema.exclusiveMinimum !== undefined && value <= schema.exclusiveMinimum) bad('not above exclusiveMinimum');
    if (schema.exclusiveMaximum !== undefined && value >= schema.exclusiveMaximum) bad('not below exclusiveMaximum');
  }
  if (typeof value === 'string') {
    const n = [...value].length;
    if (schema.minLength !== undefined && n < schema.minLength) bad('shorter than minLength');
    if (schema.maxLength !== undefined && n > schema.maxLength) bad('longer than maxLength');
    if (schema.pattern !== undefined && !new RegExp(schema.pattern, 'u').test(value)) bad(`does not match ${schema.pattern}`);
    if (schema.format === 'date' && !/^\d{4}-\d{2}-\d{2}$/.test(value)) bad('not a date');
    if (schema.format === 'uuid' && !/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/.test(value)) bad('not a uuid');
  }
  if (Array.isArray(value)) {
    if (schema.minItems !== undefined && value.length < schema.minItems) bad('fewer than minItems');
    if (schema.maxItems !== undefined && value.length > schema.maxItems) bad('more than maxItems');
    value.forEach((v, i) => errs.push(...validate(schema.prefixItems?.[i] ?? schema.items, v, root, `${path}[${i}]`)));
  }
  if (value && typeof value === 'object' && !Array.isArray(value)) {
    for (const k of schema.required ?? []) if (!(k in value)) bad(`missing ${k}`);
    for (const [k, v] of Object.entries(value)) {
      if (schema.properties?.[k]) errs.push(...validate(schema.properties[k], v, root, `${path}.${k}`));
      else if (schema.additionalProperties === false) bad(`unexpected key ${k}`);
      else if (typeof schema.additionalProperties === 'object') errs.push(...validate(schema.additionalProperties, v, root, `${path}.${k}`));
    }
  }
  return errs;
}

const SCHEMAS = {
  person: {
    type: 'object',
    properties: {
      name: { type: 'string', maxLength: 12 },
      age: { type: 'integer', minimum: 0, maximum: 120 },
      email: { type: 'string', maxLength: 20 },
      tags: { type: 'array', items: { type: 'string', enum: ['a', 'b', 'c'] }, minItems: 1, maxItems: 3 },
    },
    required: ['name', 'age', 'tags'],
  },
  nested: {
    type: 'object',
    properties: {
      id: { type: 'string', format: 'uuid' },
      point: {
        type: 'object',
        properties: { x: { type: 'number', minimum: -1.5, maximum: 2.5 }, y: { type: 'number' }, label: { type: ['string', 'null'], maxLength: 5 } },
        required: ['x', 'y', 'label'],
      },
      items: { type: 'array', minItems: 2, maxItems: 4, items: { type: 'object', properties: { k: { const: 'v' }, n: { type: 'integer', exclusiveMinimum: -3, exclusiveMaximum: 1000 } }, required: ['n'] } },
      ok: { type: 'boolean' },
    },
    required: ['id', 'point', 'items', 'ok'],
  },
  refs: {
    $defs: { node: { type: 'object', properties: { v: { type: 'integer' }, kids: { type: 'array', maxItems: 2, items: { $ref: '#/$defs/node' } } }, required: ['v'] } },
    type: 'object',
    properties: { root: { $ref: '#/$defs/node' }, when: { type: 'string', format: 'date' }, code: { type: 'string', pattern: '^[A-Z]{2}-\\d{3}(x|yz)?$' } },
    required: ['root', 'when', 'code'],
  },
  choice: {
    anyOf: [
      { type: 'object', properties: { kind: { const: 'circle' }, r: { type: 'number', exclusiveMinimum: 0 } }, required: ['kind', 'r'] },
      { type: 'object', properties: { kind: { const: 'rect' }, w: { type: 'integer' }, h: { type: 'integer' } }, required: ['kind', 'w', 'h'] },
      { type: 'array', items: { enum: [1, 'two', null, true] }, maxItems: 3 },
    ],
  },
  optional: { type: 'object', properties: { a: { type: 'string', minLength: 2, maxLength: 4 }, b: { type: 'number' }, c: { type: 'null' } } },
  strings: {
    type: 'object',
    properties: {
      mail: { type: 'string', pattern: '^[^@\\s]+@[a-z]+\\.com$' },
      when: { type: 'string', format: 'date-time' },
      odd: { enum: ['a"b', 'é', 'x\\y', null, { k: [1, 2] }] },
      pair: { type: 'array', prefixItems: [{ type: 'string', maxLength: 2 }, { type: 'boolean' }], items: false, minItems: 2 },
      counts: { type: 'object', additionalProperties: { type: 'integer', minimum: 10, maximum: 99 } },
    },
    required: ['mail', 'when', 'odd', 'pair', 'counts'],
    additionalProperties: false,
  },
  list: {
    definitions: { cell: { type: 'object', properties: { v: { type: 'string', maxLength: 3 }, next: { anyOf: [{ $ref: '#/definitions/cell' }, { type: 'null' }] } }, required: ['v', 'next'] } },
    $ref: '#/definitions/cell',
  },
};

async function run(model, prompt, options) {
  const gen = model.generate(prompt, { temperature: 1, topK: 0, topP: 1, minP: 0, ...options });
  let text = '';
  for await (const piece of gen) text += piece;
  return { text, stats: gen.stats };
}

// A recognizer for the arithmetic grammar below.
function arithmetic(s) {
  let i = 0;
  const factor = () => {
    if (s[i] === '(') {
      i++;
      if (!expr() || s[i] !== ')') return false;
      i++;
      return true;
    }
    const m = /^[0-9]+/.exec(s.slice(i));
    if (!m) return false;
    i += m[0].length;
    return true;
  };
  const term = () => { if (!factor()) return false; while (s[i] === '*' || s[i] === '/') { i++; if (!factor()) return false; } return true; };
  const expr = () => { if (!term()) return false; while (s[i] === '+' || s[i] === '-') { i++; if (!term()) return false; } return true; };
  return expr() && i === s.length;
}
const ARITH = `root ::= expr
expr ::= term (("+" | "-") term)*
term ::= factor (("*" | "/") factor)*
factor ::= [0-9]{1,4} | "(" expr ")"
`;

for (const file of MODELS) {
  test(`${file}: every output of JSON schemas parses and validates; grammars always match`, async (t) => {
    const model = await loadModel(fixture('models', file));
    const seeds = file.includes('qwen2') ? [1, 2] : [1, 2, 3];
    try {
      for (const [name, schema] of Object.entries(SCHEMAS)) {
        for (const seed of seeds) {
          const { text, stats } = await run(model, 'Answer in JSON:', { seed, maxTokens: 160, responseFormat: { type: 'json_schema', json_schema: { name, schema } } });
          let value;
          assert.doesNotThrow(() => (value = JSON.parse(text)), `${name} seed ${seed}: ${JSON.stringify(text)} (${stats.stopReason})`);
          assert.deepEqual(validate(schema, value), [], `${name} seed ${seed}: ${text}`);
          assert.ok(stats.generatedTokens <= 160);
        }
      }
      for (const seed of seeds) {
        const { text } = await run(model, 'Once upon a time', { seed, maxTokens: 60, responseFormat: { type: 'json_object' } });
        const value = JSON.parse(text);
        assert.ok(value && typeof value === 'object' && !Array.isArray(value), text);
        const yes = await run(model, 'Is it? Answer:', { seed, grammar: 'root ::= "yes" | "no"' });
        assert.ok(yes.text === 'yes' || yes.text === 'no', yes.text);
        assert.equal(yes.stats.stopReason, 'grammar');
        const sum = await run(model, 'Compute:', { seed, maxTokens: 40, grammar: ARITH });
        assert.ok(arithmetic(sum.text), `arithmetic: ${JSON.stringify(sum.text)}`);
        // a tight maxTokens: the text still closes in time (the mask keeps only tokens that leave room to finish)
        const short = await run(model, 'Answer in JSON:', { seed, maxTokens: 6, responseFormat: { type: 'json_object' } });
        assert.ok(JSON.parse(short.text) && short.stats.generatedTokens <= 6, short.text);
        const person = await run(model, 'Answer in JSON:', { seed, maxTokens: 40, responseFormat: { type: 'json_schema', json_schema: { schema: SCHEMAS.person } } });
        assert.deepEqual(validate(SCHEMAS.person, JSON.parse(person.text)), [], person.text);
      }
      // ignoreEos: a grammar with nothing left to write still ends
      const r = await run(model, 'x', { seed: 9, ignoreEos: true, grammar: 'root ::= [a-c]{2}' });
      assert.match(r.text, /^[a-c]{2}$/);
      assert.equal(r.stats.stopReason, 'grammar');
    } finally {
      await model.dispose();
    }
  });
}

test('the mask on a 151k vocabulary: cost per token next to a decode step; logprobs stay the raw distribution', async (t) => {
  const model = await loadModel(fixture('models', 'tiny-qwen2-Q8_0.gguf'));
  try {
    const opts = { seed: 4, maxTokens: 64, logprobs: true };
    const warm = await run(model, 'Answer in JSON:', { ...opts, responseFormat: { type: 'json_object' } }); // builds the trie
    const constrained = await run(model, 'Answer in JSON:', { ...opts, responseFormat: { type: 'json_schema', json_schema: { schema: SCHEMAS.nested } } });
    const free = await run(model, 'Answer in JSON:', { ...opts, ignoreEos: true });
    const n = constrained.stats.generatedTokens;
    const mask = constrained.stats.grammarMs / n;
    const step = free.stats.decodeMs / free.stats.generatedTokens;
    t.diagnostic(`qwen2 151,936 tokens: grammar mask + advance ${mask.toFixed(2)} ms/token, decode step (unconstrained) ${step.toFixed(2)} ms/token; json_object ${(warm.stats.grammarMs / warm.stats.generatedTokens).toFixed(2)} ms/token`);
    assert.ok(constrained.stats.grammarMs > 0);
    // logprobs: the sampled token is the raw distribution's, which may rank it anywhere
    const lp = constrained.stats.logprobs[0];
    assert.ok(lp.logprob <= 0 && Number.isFinite(lp.logprob));
    const forward = await model.forward(await model.tokenize('Answer in JSON:'), { logits: 'last' });
    let max = -Infinity;
    for (const x of forward) max = Math.max(max, x);
    let sum = 0;
    for (const x of forward) sum += Math.exp(x - max);
    assert.ok(Math.abs(lp.logprob - (forward[lp.token] - max - Math.log(sum))) < 1e-3);
  } finally {
    await model.dispose();
  }
});

test('grammar and schema errors are clear', async () => {
  const model = await loadModel(fixture('models', 'tiny-brown-f32.gguf'));
  try {
    const drain = async (options) => { for await (const _ of model.generate('x', options)); };
    await assert.rejects(drain({ grammar: 'root ::= "a" |\n  foo' }), /line 2, column 3: rule 'foo' is used but never defined/);
    await assert.rejects(drain({ grammar: 'root ::= root "a" | "b"' }), /left-recursive/);
    await assert.rejects(drain({ grammar: '' }), /grammar must be GBNF text/);
    await assert.rejects(drain({ grammar: 'root ::= "a"', responseFormat: { type: 'json_object' } }), /not both/);
    await assert.rejects(drain({ responseFormat: { type: 'xml' } }), /responseFormat.type must be/);
    await assert.rejects(drain({ responseFormat: { type: 'json_schema', json_schema: { schema: { type: 'array', uniqueItems: true } } } }), /keyword "uniqueItems" is not supported/);
    await assert.rejects(drain({ responseFormat: { type: 'json_schema', json_schema: { schema: { not: {} } } } }), /keyword "not" is not supported/);
  } finally {
    await model.dispose();
  }
  assert.throws(() => patternToGrammar('(?=a)b'), /lookaround/);
  assert.throws(() => patternToGrammar('a\\1'), /escape \\1/);
  assert.throws(() => jsonSchemaToGrammar({ $ref: '#/components/x' }), /only "#"/);
  assert.match(jsonSchemaToGrammar({ type: 'integer', minimum: 3, maximum: 17 }), /^root ::= /);
});
