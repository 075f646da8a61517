// Type-checked by tests/slow/types.test.mjs (tsc --noEmit): greenformer's
// OpenAI-shaped results are assignable to the official openai package's
// types, and its request types accept what openai's users write.
import type OpenAI from 'openai';

import { ENERGY_CONSTANTS, estimateEnergy, loadModel, type WorkStats } from 'greenformer';

export async function compat(): Promise<void> {
  const model = await loadModel('model.gguf');
  const messages: OpenAI.Chat.ChatCompletionMessageParam[] = [
    { role: 'system', content: 'You are concise.' },
    { role: 'user', content: 'Hello' },
  ];
  const completion: OpenAI.Chat.ChatCompletion = await model.chat.completions.create({
    messages,
    max_tokens: 16,
    temperature: 0.7,
    logprobs: true,
    top_logprobs: 2,
  });
  const text: string | null = completion.choices[0].message.content;
  void text;
  const stream = await model.chat.completions.create({ messages: [{ role: 'user', content: 'Hi' }], stream: true, stream_options: { include_usage: true } });
  for await (const chunk of stream) {
    const c: OpenAI.Chat.ChatCompletionChunk = chunk;
    void c;
  }
  const legacy: OpenAI.Completion = await model.completions.create({ prompt: 'Once upon a time', max_tokens: 8 });
  void legacy;
  const embeddings: OpenAI.CreateEmbeddingResponse = await model.embeddings.create({ input: ['a', 'b'] });
  void embeddings;
  // the chat() generator is still there
  for await (const piece of model.chat([{ role: 'user', content: 'x' }], { maxTokens: 4 })) void piece;
  // what a generation cost (stats.work), and the estimate again with other constants
  const gen = model.generate('x', { maxTokens: 4 });
  for await (const piece of gen) void piece;
  const work: WorkStats | null = gen.stats.work;
  if (work) {
    const perToken: number | undefined = work.perToken.generated?.weightBytes;
    const joules: number = estimateEnergy(work, { llcBytes: ENERGY_CONSTANTS.llcBytes * 4 }).energy.joules;
    const memory: 'cache' | 'dram' = work.energy.memory.generated;
    void [perToken, joules, memory, work.energy.estimate satisfies true];
  }
}
