// The demo page: pick a model, watch it stream in, chat with it (the prompt
// cache makes each turn start from the history already computed) or let it
// complete a text.
// Everything here goes through the public API, exposed as window.greenformer
// (and the page's state as window.demo) for automation.

import * as greenformer from '../web/index.js';
import { formatWork } from '../web/work.js';
import { MODELS, describe } from './models.js';

window.greenformer = greenformer;
const $ = (id) => document.getElementById(id);
const demo = { model: null, frames: 0, lastGeneration: null, messages: [], turns: [] };
window.demo = demo;

const DEFAULT_URL = MODELS[0].source; // the built-in model
let loadAbort = null;
let genAbort = null;

// For models without a chat template (tiny-brown is a base model): a plain
// transcript, whose turns end where the model starts the user's next line.
const PLAIN_TEMPLATE =
  "{% for m in messages %}{% if m['role'] == 'system' %}{{ m['content'] + '\\n\\n' }}{% elif m['role'] == 'user' %}{{ 'User: ' + m['content'] + '\\n' }}" +
  "{% else %}{{ 'Assistant: ' + m['content'] + '\\n' }}{% endif %}{% endfor %}{% if add_generation_prompt %}{{ 'Assistant:' }}{% endif %}";
const PLAIN_STOP = ['\nUser:', '\nAssistant:', '\n\n'];

// ---- a frame counter: the page must keep drawing while models load and write ----
(function countFrames() {
  let last = performance.now();
  let n = 0;
  const tick = (t) => {
    demo.frames++;
    n++;
    if (t - last >= 1000) {
      $('fps').textContent = `(page: ${Math.round((n * 1000) / (t - last))} fps)`;
      last = t;
      n = 0;
    }
    requestAnimationFrame(tick);
  };
  requestAnimationFrame(tick);
})();

const mb = (b) => (b / 1048576).toFixed(b < 10485760 ? 2 : 1);

function showError(e) {
  const el = $('error');
  if (!e) {
    el.hidden = true;
    return;
  }
  el.textContent = e.name === 'AbortError' ? 'Cancelled.' : e.message;
  el.hidden = false;
}

function parameterCount(i) {
  const q = i.nHead * i.headDim, kv = i.nHeadKv * i.headDim;
  const layer = i.dim * q + 2 * i.dim * kv + q * i.dim + 3 * i.dim * i.ffnDim + 2 * i.dim;
  return i.nVocab * i.dim * (i.tiedOutput ? 1 : 2) + i.nLayer * layer + i.dim;
}

function human(n) {
  return n >= 1e9 ? `${(n / 1e9).toFixed(2)} B` : n >= 1e6 ? `${(n / 1e6).toFixed(1)} M` : `${(n / 1e3).toFixed(0)} K`;
}

function renderInfo(info) {
  const dl = $('info');
  const threads = info.threads > 1 ? 'on' : 'off';
  const cached = info.cache === 'hit' ? 'on' : info.cache.startsWith('off') ? 'off' : '';
  const rows = [
    ['Model', `${info.name || '(unnamed)'} · ${info.architecture}`],
    ['Size', `${human(parameterCount(info))} parameters · ${info.fileBytes ? mb(info.fileBytes) + ' MB file' : ''}` +
      (info.shards > 1 ? ` in ${info.shards} shards` : '')],
    ['Shape', `${info.nLayer} layers · dim ${info.dim} · ${info.nHead} heads (${info.nHeadKv} KV) · ffn ${info.ffnDim} · vocab ${info.nVocab}`],
    ['Weights', Object.entries(info.tensorTypes).map(([t, n]) => `${t}×${n}`).join(' ')],
    ['Context', `${info.contextLength} tokens (trained on ${info.contextTrain})`],
    ['Threads', `<span class="badge ${threads}">${info.threads}</span> ${info.threadsReason}`],
    ['Cache', `<span class="badge ${cached}">${info.cache}</span>`],
    ['Runtime', `${info.runtime} · ${info.build} · ${info.kernels} kernels · loaded in ${info.loadMs} ms`],
    ['SIMD', info.simdReason],
  ];
  dl.innerHTML = rows.map(([k, v]) => `<dt>${k}</dt><dd>${v}</dd>`).join('');
  dl.hidden = false;
}

async function refreshCache() {
  const list = await greenformer.listCachedModels().catch(() => []);
  const ul = $('cached');
  ul.innerHTML = '';
  if (!list.length) {
    ul.innerHTML = '<li class="muted">none yet</li>';
    return;
  }
  for (const m of list) {
    const li = document.createElement('li');
    const label = document.createElement('span');
    label.textContent = `${m.url.split('/').pop()} · ${mb(m.bytes)}${m.complete ? '' : ` of ${mb(m.size)}`} MB${m.complete ? '' : ' (partial)'}`;
    label.title = m.url;
    const del = document.createElement('button');
    del.className = 'link';
    del.textContent = 'Delete';
    del.onclick = async () => {
      await greenformer.deleteCachedModel(m.url);
      refreshCache();
    };
    li.append(label, del);
    ul.append(li);
  }
}

async function load(source) {
  showError(null);
  markPicked(typeof source === 'string' ? source : null);
  loadAbort?.abort();
  genAbort?.abort();
  const controller = new AbortController();
  loadAbort = controller;
  $('generate').disabled = true;
  $('send').disabled = true;
  $('info').hidden = true;
  if (demo.model) {
    const old = demo.model;
    demo.model = null;
    await old.dispose().catch(() => {});
  }
  const progress = $('progress');
  progress.hidden = false;
  $('fill').style.width = '0%';
  $('ptext').textContent = 'connecting…';
  const started = performance.now();
  try {
    const model = await greenformer.loadModel(source, {
      signal: controller.signal,
      onProgress: ({ loaded, total, fraction }) => {
        $('fill').style.width = `${(fraction * 100).toFixed(1)}%`;
        const secs = (performance.now() - started) / 1000;
        const rate = loaded / 1048576 / Math.max(secs, 1e-3);
        const eta = total && rate > 0 ? (total - loaded) / 1048576 / rate : NaN;
        $('ptext').textContent =
          `${mb(loaded)}${total ? ` / ${mb(total)}` : ''} MB · ${rate.toFixed(1)} MB/s` +
          (fraction < 1 && Number.isFinite(eta) ? ` · ${eta < 1 ? '<1' : Math.round(eta)} s left` : '');
      },
    });
    if (loadAbort !== controller) {
      await model.dispose();
      return;
    }
    demo.model = model;
    const info = model.info();
    renderInfo(info);
    // encoders compare sentences instead of writing; models without a chat template chat in a plain transcript
    $('mode-chat').hidden = info.encoder;
    setMode(info.encoder ? 'complete' : 'chat');
    $('template-note').hidden = info.encoder || !!info.chatTemplate;
    $('template-note').textContent = 'This model has no chat template: the chat is a plain "User: … / Assistant: …" transcript.';
    resetChat();
    $('embed-help').hidden = !info.encoder;
    for (const el of $('controls').querySelectorAll('label:not(.check)')) el.hidden = info.encoder;
    $('stop').hidden = info.encoder;
    $('generate').textContent = info.encoder ? 'Compare' : 'Generate';
    if (info.encoder && $('prompt').value === 'She looked at the') {
      $('prompt').value = 'A cat sat on the mat.\nA kitten rested on the rug.\nStock markets fell sharply today.';
    }
    $('ptext').textContent = `ready · ${$('ptext').textContent}`;
    $('generate').disabled = false;
    $('send').disabled = false;
  } catch (e) {
    if (loadAbort === controller) {
      showError(e);
      progress.hidden = true;
    }
  } finally {
    if (loadAbort === controller) loadAbort = null;
    refreshCache();
  }
}

/** Encoders: one vector per line, and a table of their cosine similarities. */
async function compare(model) {
  const lines = $('prompt').value.split('\n').map((l) => l.trim()).filter(Boolean).slice(0, 8);
  const out = $('output');
  if (!lines.length) return;
  const started = performance.now();
  const vectors = await model.embed(lines);
  const cos = (a, b) => a.reduce((s, x, i) => s + x * b[i], 0); // unit vectors
  const table = document.createElement('table');
  table.className = 'sim';
  const head = table.insertRow();
  head.append(document.createElement('th'));
  lines.forEach((_, i) => (head.insertCell().textContent = `#${i + 1}`));
  lines.forEach((line, i) => {
    const row = table.insertRow();
    const th = document.createElement('th');
    th.textContent = `#${i + 1} ${line}`;
    th.title = line;
    row.append(th);
    vectors.forEach((v, k) => (row.insertCell().textContent = cos(vectors[i], v).toFixed(3)));
  });
  out.replaceChildren(table);
  $('stats').textContent = `${lines.length} embeddings of ${vectors[0].length} dimensions in ${(performance.now() - started).toFixed(0)} ms`;
  demo.lastGeneration = { text: out.textContent, done: true };
}

async function generate() {
  const model = demo.model;
  if (!model) return;
  if (model.info().encoder) {
    try {
      await compare(model);
    } catch (e) {
      showError(e);
    }
    return;
  }
  showError(null);
  const out = $('output');
  const prompt = $('prompt').value;
  out.innerHTML = '';
  const shown = document.createElement('span');
  shown.className = 'prompt';
  shown.textContent = prompt;
  const text = document.createTextNode('');
  out.append(shown, text);
  out.classList.add('running');
  const controller = new AbortController();
  genAbort = controller;
  $('generate').disabled = true;
  $('stop').disabled = false;
  const gen = model.generate(prompt, { ...sampling(), signal: controller.signal });
  demo.lastGeneration = { text: '', stats: gen.stats, done: false };
  const started = performance.now();
  try {
    for await (const piece of gen) {
      text.data += piece;
      demo.lastGeneration.text = text.data;
      const s = gen.stats;
      const decode = s.generatedTokens > 1 && s.decodeMs > 0 ? ((s.generatedTokens - 1) / s.decodeMs) * 1000 : 0;
      $('stats').textContent = `${s.generatedTokens} tokens · ${decode.toFixed(1)} tok/s · prompt ${s.promptTokens} tok in ${s.prefillMs.toFixed(0)} ms`;
    }
    const s = gen.stats;
    $('stats').textContent += ` · stopped: ${s.stopReason}`;
    // what this completion cost, as the engine counted it (README: The cost of every answer)
    if (s.work) $('stats').textContent += ` · ${formatWork(s.work)}`;
  } catch (e) {
    if (e.name !== 'AbortError') showError(e);
    else $('stats').textContent += ' · stopped';
  } finally {
    demo.lastGeneration.done = true;
    demo.lastGeneration.ms = performance.now() - started;
    out.classList.remove('running');
    genAbort = null;
    $('generate').disabled = !demo.model;
    $('stop').disabled = true;
  }
}

function sampling() {
  const seedText = $('seed').value.trim();
  return {
    maxTokens: Number($('max').value) || 128,
    temperature: Number($('temp').value),
    topP: Number($('topp').value),
    seed: seedText === '' ? undefined : Number(seedText),
  };
}

function setMode(mode) {
  for (const m of ['chat', 'complete']) {
    $(`mode-${m}`).setAttribute('aria-selected', String(m === mode));
    $(`${m}-pane`).hidden = m !== mode;
  }
}

function bubble(role, text) {
  const conv = $('conversation');
  conv.querySelector('.placeholder')?.remove();
  const el = document.createElement('div');
  el.className = `bubble ${role}`;
  el.textContent = text;
  conv.append(el);
  conv.scrollTop = conv.scrollHeight;
  return el;
}

function resetChat() {
  genAbort?.abort();
  demo.messages = [];
  demo.turns = [];
  $('conversation').innerHTML = '<p class="placeholder">Say something to the model.</p>';
  $('chat-stats').textContent = '';
}

/** One chat turn: the whole conversation goes in, and the prompt cache keeps the part already computed. */
async function send() {
  const model = demo.model;
  const text = $('message').value.trim();
  if (!model || !text || genAbort) return;
  showError(null);
  $('message').value = '';
  const info = model.info();
  const system = $('system').value.trim();
  demo.messages.push({ role: 'user', content: text });
  bubble('user', text);
  const reply = bubble('assistant', '');
  reply.classList.add('running');
  const body = document.createTextNode('');
  reply.append(body);
  const controller = new AbortController();
  genAbort = controller;
  $('send').disabled = true;
  $('stop-chat').disabled = false;
  const messages = [...(system ? [{ role: 'system', content: system }] : []), ...demo.messages];
  const options = { ...sampling(), signal: controller.signal, historyPolicy: 'trim' };
  if (!info.chatTemplate) Object.assign(options, { template: PLAIN_TEMPLATE, stop: PLAIN_STOP });
  if ($('json').checked) {
    try {
      const schema = $('schema').value.trim();
      options.responseFormat = schema ? { type: 'json_schema', json_schema: { name: 'reply', schema: JSON.parse(schema) } } : { type: 'json_object' };
      delete options.stop; // the grammar decides where the reply ends
    } catch (e) {
      showError(new Error(`the JSON schema does not parse: ${e.message}`));
      demo.messages.pop();
      reply.remove();
      genAbort = null;
      $('send').disabled = false;
      $('stop-chat').disabled = true;
      return;
    }
  }
  const gen = model.chat(messages, options);
  demo.lastGeneration = { text: '', stats: gen.stats, done: false };
  const started = performance.now();
  let firstMs = null;
  const show = () => {
    const s = gen.stats;
    const decode = s.generatedTokens > 1 && s.decodeMs > 0 ? ((s.generatedTokens - 1) / s.decodeMs) * 1000 : 0;
    $('chat-stats').textContent =
      `prompt ${s.promptTokens} tokens, ${s.cachedTokens} from cache · first token ${firstMs === null ? '…' : firstMs.toFixed(0)} ms · ` +
      `${s.generatedTokens} tokens · ${decode.toFixed(1)} tok/s`;
  };
  try {
    for await (const piece of gen) {
      if (firstMs === null) firstMs = performance.now() - started;
      body.data += piece;
      demo.lastGeneration.text = body.data;
      show();
      $('conversation').scrollTop = $('conversation').scrollHeight;
    }
    show();
  } catch (e) {
    if (e.name !== 'AbortError') showError(e);
  } finally {
    const s = gen.stats;
    demo.messages.push({ role: 'assistant', content: body.data.trim() });
    demo.turns.push({ promptTokens: s.promptTokens, cachedTokens: s.cachedTokens, firstTokenMs: firstMs, stopReason: s.stopReason, droppedMessages: s.droppedMessages ?? 0 });
    const meta = document.createElement('span');
    meta.className = 'meta';
    meta.textContent = `${s.cachedTokens}/${s.promptTokens} prompt tokens cached · first token ${firstMs === null ? '–' : firstMs.toFixed(0)} ms · stopped: ${s.stopReason ?? 'cancelled'}` +
      (s.work ? ` · ${formatWork(s.work)}` : '');
    meta.title = s.work ? `${s.work.energy.model}. Leaves out ${s.work.energy.leavesOut}. Constants: ${s.work.energy.source}.` : '';
    reply.append(meta);
    reply.classList.remove('running');
    demo.lastGeneration.done = true;
    demo.lastGeneration.ms = performance.now() - started;
    genAbort = null;
    $('send').disabled = !demo.model;
    $('stop-chat').disabled = true;
  }
}

$('load').onclick = () => load($('url').value.trim() || DEFAULT_URL);
$('url').addEventListener('keydown', (e) => e.key === 'Enter' && $('load').click());
// the model list (demo/models.js): one button each, the source shown in the URL box when picked
for (const m of MODELS) {
  const b = document.createElement('button');
  b.className = `model${m.source.startsWith('hf:') ? '' : ' offline'}`;
  b.dataset.url = m.source;
  b.title = `${m.note}\n${m.source}`;
  b.setAttribute('aria-pressed', 'false');
  const name = document.createElement('span');
  name.className = 'name';
  name.textContent = m.label;
  const meta = document.createElement('span');
  meta.className = 'meta';
  meta.textContent = describe(m);
  b.append(name, meta);
  b.onclick = () => {
    $('url').value = m.source;
    load(m.source);
  };
  $('models').append(b);
}
const markPicked = (source) => {
  for (const b of $('models').children) b.setAttribute('aria-pressed', String(b.dataset.url === source));
};
$('url').addEventListener('input', () => markPicked($('url').value.trim()));
// one file, or the shards of a split model (in name order: -00001-of-0000N first)
$('file').onchange = () => {
  const files = [...$('file').files].sort((a, b) => a.name.localeCompare(b.name));
  if (files.length) load(files.length === 1 ? files[0] : files);
};
$('cancel').onclick = () => loadAbort?.abort();
$('generate').onclick = generate;
$('stop').onclick = () => genAbort?.abort();
$('prompt').addEventListener('keydown', (e) => (e.ctrlKey || e.metaKey) && e.key === 'Enter' && !$('generate').disabled && generate());
$('send').onclick = send;
$('stop-chat').onclick = () => genAbort?.abort();
$('reset').onclick = resetChat;
$('message').addEventListener('keydown', (e) => {
  if (e.key === 'Enter' && !e.shiftKey) {
    e.preventDefault();
    if (!$('send').disabled) send();
  }
});
$('mode-chat').onclick = () => setMode('chat');
$('mode-complete').onclick = () => setMode('complete');
for (const [input, output] of [['temp', 'temp-out'], ['topp', 'topp-out']]) {
  $(input).oninput = () => ($(output).textContent = $(input).value);
}

$('url').value = DEFAULT_URL;
refreshCache();
// start with the built-in model unless the page is driven by a test (?autoload=0)
if (new URLSearchParams(location.search).get('autoload') !== '0') load(DEFAULT_URL);
