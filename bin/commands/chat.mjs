// greenformer chat MODEL: an interactive conversation with the model's chat
// template; each line on stdin is a user turn, replies stream to stdout.
import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';

import { CTX, intFlag, load, N_PREDICT, numFlag, SEED, TEMP, TOP_P, UsageError, withModel } from './common.mjs';

export const usage = `chat MODEL [--system TEXT] [--template FILE] [-n 256] [--temp T] [--top-p P] [--seed S] [--ctx N]
        talk to the model: type a message, read the reply (streamed); Ctrl-D ends`;

export const options = {
  system: { type: 'string' },
  template: { type: 'string' },
  'n-predict': { type: 'string', short: 'n', flag: '-n' },
  temp: { type: 'string' },
  'top-p': { type: 'string' },
  seed: { type: 'string' },
  ctx: { type: 'string' },
};

export async function run(modelPath, v) {
  const contextLength = intFlag(v, 'ctx', CTX);
  const sampling = {
    maxTokens: intFlag(v, 'n-predict', N_PREDICT) ?? 256,
    temperature: numFlag(v, 'temp', TEMP),
    topP: numFlag(v, 'top-p', TOP_P),
    seed: intFlag(v, 'seed', SEED),
  };
  let template;
  if (v.template !== undefined) {
    try {
      template = readFileSync(v.template, 'utf8');
    } catch (e) {
      throw new UsageError(`--template: cannot read ${v.template}: ${e.message}`);
    }
  }
  await withModel(await load(modelPath, { contextLength }), async (m) => {
    if (!template && !m.chatTemplate()) throw new Error(`${modelPath} has no chat template; give one with --template FILE`);
    const messages = v.system ? [{ role: 'system', content: v.system }] : [];
    const interactive = process.stdin.isTTY;
    const rl = createInterface({ input: process.stdin, terminal: interactive });
    if (interactive) process.stderr.write('(chat: type a message; Ctrl-D to quit)\n');
    const ask = () => interactive && process.stdout.write('> ');
    ask();
    for await (const line of rl) {
      if (!line.trim()) {
        ask();
        continue;
      }
      messages.push({ role: 'user', content: line });
      const gen = m.chat(messages, { template, ...sampling });
      let reply = '';
      for await (const piece of gen) {
        reply += piece;
        process.stdout.write(piece);
      }
      process.stdout.write('\n');
      messages.push({ role: 'assistant', content: reply.trim() });
      ask();
    }
  });
}
