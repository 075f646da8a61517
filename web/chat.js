// Chat prompts: a model's chat template (tokenizer.chat_template, Jinja)
// rendered by @huggingface/jinja, the implementation Hugging Face uses, so
// prompts are exactly what the template's authors meant.

let jinja = null;

// Where @huggingface/jinja is when its name does not resolve: a page (or its
// worker) that loads this package's files as they are, with no bundler and
// no import map, from a node_modules folder or a CDN's /npm/ layout.
const BESIDE = ['../node_modules/@huggingface/jinja/dist/index.js', '../../@huggingface/jinja/dist/index.js'];

/** Loads @huggingface/jinja: by its name (Node, bundlers, which see the literal), else beside this package. */
async function loadJinja() {
  if (jinja) return jinja;
  const tried = [];
  try {
    jinja = await import('@huggingface/jinja');
    return jinja;
  } catch (e) {
    tried.push(`@huggingface/jinja (${e.message})`);
  }
  for (const rel of BESIDE) {
    let url;
    try {
      url = new URL(rel, import.meta.url).href;
      jinja = await import(/* webpackIgnore: true */ /* @vite-ignore */ url);
      return jinja;
    } catch (e) {
      tried.push(`${url ?? rel} (${e.message})`);
    }
  }
  throw new Error(`chat templates need @huggingface/jinja, a dependency of greenformer, and it could not be loaded from: ${tried.join('; ')}`);
}

function checkMessages(messages) {
  if (!Array.isArray(messages) || !messages.length) throw new TypeError('chat: messages must be a non-empty array of { role, content }');
  for (const m of messages) {
    if (!m || typeof m.role !== 'string' || typeof m.content !== 'string') {
      throw new TypeError('chat: every message needs a string role and a string content');
    }
  }
}

/**
 * Renders messages with a Jinja chat template. Variables: messages,
 * add_generation_prompt, bos_token, eos_token, plus anything in `extra`.
 */
export async function renderChat(template, messages, { addGenerationPrompt = true, bosToken = '', eosToken = '', extra = {} } = {}) {
  if (typeof template !== 'string' || !template) throw new Error('chat: this model has no chat template; pass one with { template }');
  checkMessages(messages);
  const { Template } = await loadJinja();
  let compiled;
  try {
    compiled = new Template(template);
  } catch (e) {
    throw new Error(`chat: the chat template does not parse: ${e.message}`);
  }
  try {
    return compiled.render({ ...extra, messages, add_generation_prompt: addGenerationPrompt, bos_token: bosToken, eos_token: eosToken });
  } catch (e) {
    throw new Error(`chat: the chat template refused these messages: ${e.message}`);
  }
}
