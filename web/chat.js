// Chat prompts: a model's chat template (tokenizer.chat_template, Jinja)
// rendered by @huggingface/jinja, the implementation Hugging Face uses, so
// prompts are exactly what the template's authors meant.

let jinja = null;

/** Loads @huggingface/jinja: by name (Node, bundlers, import maps) or next to this package (plain pages). */
async function loadJinja() {
  if (jinja) return jinja;
  const candidates = ['@huggingface/jinja', '../node_modules/@huggingface/jinja/dist/index.js', '../../@huggingface/jinja/dist/index.js'];
  for (const spec of candidates) {
    try {
      jinja = await import(spec.startsWith('@') ? spec : new URL(spec, import.meta.url).href);
      return jinja;
    } catch {
      /* try the next place */
    }
  }
  throw new Error('chat templates need the @huggingface/jinja package: npm install @huggingface/jinja');
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
