// The Web Worker that owns a model's wasm instance in a page (see remote.js
// for the other side). Everything heavy happens here; the page only sends
// and receives small messages, so it never stalls.

import { loadDirect } from './load.js';

let model = null;
const running = new Map(); // id -> AbortController
const sessions = new Map(); // session id -> the model's session object
let nextSession = 1;

/** The model, or one of its sessions, that a request names. */
function target(msg) {
  if (msg.session === undefined) return model;
  const s = sessions.get(msg.session);
  if (!s) {
    const err = new Error('this session has been disposed');
    err.code = 'GF_DISPOSED';
    throw err;
  }
  return s;
}

function serializeError(e) {
  return { name: e?.name ?? 'Error', message: e?.message ?? String(e), code: e?.code };
}

const warn = (message) => postMessage({ op: 'warn', message });
console.warn = (...args) => warn(args.join(' '));

async function handle(msg) {
  const { op, id } = msg;
  if (op === 'abort') return running.get(id)?.abort();
  const controller = new AbortController();
  running.set(id, controller);
  try {
    if (op === 'load') {
      const options = { ...msg.options, signal: controller.signal };
      if (msg.progress) options.onProgress = (p) => postMessage({ op: 'progress', id, p });
      model = await loadDirect(msg.source, options);
      postMessage({ op: 'result', id, value: model.info() });
    } else if (op === 'call') {
      if (!['tokenize', 'detokenize', 'forward', 'embed', 'renderChat'].includes(msg.method)) throw new Error(`unknown method ${msg.method}`);
      const value = await target(msg)[msg.method](...msg.args);
      const buffers = [value].flat().filter((v) => v instanceof Float32Array).map((v) => v.buffer);
      postMessage({ op: 'result', id, value }, buffers);
    } else if (op === 'generate' || op === 'chat') {
      const gen = target(msg)[op](msg.input, { ...msg.options, signal: controller.signal });
      // the growing arrays cross once, with the result
      for await (const text of gen) postMessage({ op: 'piece', id, text, stats: { ...gen.stats, tokens: undefined, logprobs: undefined } });
      postMessage({ op: 'result', id, value: gen.stats });
    } else if (op === 'session') {
      const sid = nextSession++;
      sessions.set(sid, model.session());
      postMessage({ op: 'result', id, value: sid });
    } else if (op === 'session-dispose') {
      const s = sessions.get(msg.session);
      sessions.delete(msg.session);
      await s?.dispose();
      postMessage({ op: 'result', id });
    } else if (op === 'dispose') {
      await model?.dispose();
      model = null;
      postMessage({ op: 'result', id });
    }
  } catch (e) {
    postMessage({ op: 'error', id, error: serializeError(e) });
  } finally {
    running.delete(id);
  }
}

self.onmessage = (e) => handle(e.data);
