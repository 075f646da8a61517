// The demo's model list: the built-in offline model, then real small GGUF
// models from the Hugging Face Hub as hf: sources (web/hub.js). The
// repository and file names are the hub's, written from knowledge of the
// hub, not fetched: this project is developed without network access, so
// no entry here has been downloaded or checked against the hub
// (tests/fast/demo-models.test.mjs checks only that each parses as an hf:
// source). Sizes are the files' approximate sizes in MB.

export const MODELS = [
  {
    id: 'tiny-brown',
    label: 'tiny-brown',
    source: 'models/tiny-brown-Q8_0.gguf',
    quant: 'Q8_0',
    params: '3.7 M',
    mb: 3.8,
    note: 'Ships with the demo: works offline. A llama trained for greenformer on the Brown corpus; weak but English-like text.',
  },
  {
    id: 'stories15m',
    label: 'TinyStories 15M',
    source: 'hf:ggml-org/tiny-llamas/stories15M-q8_0.gguf',
    quant: 'Q8_0',
    params: '15 M',
    mb: 27,
    note: 'Andrej Karpathy\'s llama2.c model of children\'s stories (no chat template: completion).',
  },
  {
    id: 'smollm2-135m',
    label: 'SmolLM2 135M',
    source: 'hf:bartowski/SmolLM2-135M-Instruct-GGUF/SmolLM2-135M-Instruct-Q8_0.gguf',
    quant: 'Q8_0',
    params: '135 M',
    mb: 145,
    note: 'Hugging Face\'s smallest SmolLM2 chat model (llama architecture).',
  },
  {
    id: 'gemma3-270m',
    label: 'Gemma 3 270M',
    source: 'hf:unsloth/gemma-3-270m-it-GGUF/gemma-3-270m-it-Q8_0.gguf',
    quant: 'Q8_0',
    params: '270 M',
    mb: 292,
    note: 'Google\'s smallest Gemma 3 (gemma3: sliding-window layers, a 262k-token vocabulary).',
  },
  {
    id: 'smollm2-360m',
    label: 'SmolLM2 360M',
    source: 'hf:HuggingFaceTB/SmolLM2-360M-Instruct-GGUF/smollm2-360m-instruct-q8_0.gguf',
    quant: 'Q8_0',
    params: '360 M',
    mb: 386,
    note: 'SmolLM2\'s middle size, from Hugging Face\'s own GGUF repository.',
  },
  {
    id: 'qwen3-0.6b-q4',
    label: 'Qwen3 0.6B',
    source: 'hf:unsloth/Qwen3-0.6B-GGUF/Qwen3-0.6B-Q4_K_M.gguf',
    quant: 'Q4_K_M',
    params: '0.6 B',
    mb: 397,
    note: 'Qwen3 0.6B (qwen3: per-head q/k norms) in llama.cpp\'s Q4_K_M mix.',
  },
  {
    id: 'qwen2.5-0.5b',
    label: 'Qwen2.5 0.5B',
    source: 'hf:Qwen/Qwen2.5-0.5B-Instruct-GGUF/qwen2.5-0.5b-instruct-q4_k_m.gguf',
    quant: 'Q4_K_M',
    params: '0.5 B',
    mb: 491,
    note: 'Qwen2.5 0.5B from the Qwen team\'s GGUF repository (qwen2).',
  },
  {
    id: 'qwen3-0.6b-q8',
    label: 'Qwen3 0.6B',
    source: 'hf:Qwen/Qwen3-0.6B-GGUF/Qwen3-0.6B-Q8_0.gguf',
    quant: 'Q8_0',
    params: '0.6 B',
    mb: 639,
    note: 'Qwen3 0.6B from the Qwen team\'s GGUF repository.',
  },
  {
    id: 'llama3.2-1b',
    label: 'Llama 3.2 1B',
    source: 'hf:bartowski/Llama-3.2-1B-Instruct-GGUF/Llama-3.2-1B-Instruct-Q4_K_M.gguf',
    quant: 'Q4_K_M',
    params: '1.2 B',
    mb: 808,
    note: 'Meta\'s Llama 3.2 1B (Llama 3 license; the download needs no sign-in from this repository).',
  },
  {
    id: 'phi3.5-mini',
    label: 'Phi-3.5 mini',
    source: 'hf:bartowski/Phi-3.5-mini-instruct-GGUF/Phi-3.5-mini-instruct-Q4_K_M.gguf',
    quant: 'Q4_K_M',
    params: '3.8 B',
    mb: 2393,
    note: 'Large for a tab: 2.4 GB to download and about as much memory; slow on one thread.',
  },
];

/** The entry's short description: "Q8_0 · 639 MB" ("offline" for the built-in one). */
export function describe(m) {
  const size = m.mb >= 1000 ? `${(m.mb / 1024).toFixed(1)} GB` : `${m.mb < 10 ? m.mb.toFixed(1) : Math.round(m.mb)} MB`;
  return `${m.params} · ${m.quant} · ${m.source.startsWith('hf:') ? size : 'offline'}`;
}
