#!/usr/bin/env node
// greenformer command line: the public JS API underneath. Results go to
// stdout; progress and diagnostics to stderr; any failure is one clear line
// on stderr and a non-zero exit status (2 for usage errors).
//
// Each command is a module in bin/commands/ exporting usage, options (see
// parseCommandArgs in common.mjs) and run(model, values).

import { parseCommandArgs, UsageError } from './commands/common.mjs';

// `greenformer run ... | head -c 1`: the reader went away; that is not an error
process.stdout.on('error', (e) => {
  if (e.code !== 'EPIPE') process.stderr.write(`greenformer: cannot write the output: ${e.message}\n`);
  process.exit(e.code === 'EPIPE' ? 0 : 1);
});

const COMMANDS = ['run', 'logits', 'tokenize', 'info', 'embed', 'chat', 'quantize', 'prune', 'eval', 'split'];

async function usage() {
  const lines = await Promise.all(COMMANDS.map(async (c) => '  ' + (await import(`./commands/${c}.mjs`)).usage));
  return `usage: greenformer <command> MODEL [options]\n\ncommands:\n${lines.join('\n')}\n\nMODEL is a GGUF file path or an http(s) URL (a split model: its first shard, model-00001-of-0000N.gguf).`;
}

async function main(argv) {
  const [command, ...rest] = argv;
  if (!command || command === '-h' || command === '--help' || command === 'help') {
    process.stdout.write((await usage()) + '\n');
    return 0;
  }
  if (!COMMANDS.includes(command)) throw new UsageError(`unknown command "${command}"`);
  const cmd = await import(`./commands/${command}.mjs`);
  const parsed = parseCommandArgs(command, rest, cmd.options);
  if (parsed.help) {
    process.stdout.write(`usage: greenformer ${cmd.usage}\n`);
    return 0;
  }
  const [model, ...extra] = parsed.positionals;
  if (!model) throw new UsageError(`${command} needs a MODEL (a GGUF path or URL)`);
  if (extra.length > (cmd.extraPositionals ?? 0)) throw new UsageError(`unexpected argument "${extra[cmd.extraPositionals ?? 0]}"`);
  try {
    await cmd.run(model, parsed.values, extra);
  } catch (e) {
    // the API's option names, as this command's flags
    if ('ctx' in cmd.options && typeof e?.message === 'string') {
      e.message = e.message.replace(/load with a larger contextLength/g, 'use a larger --ctx').replace(/\bcontextLength\b/g, '--ctx');
    }
    throw e;
  }
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => (process.exitCode = code),
  (err) => {
    if (err instanceof UsageError) {
      process.stderr.write(`greenformer: ${err.message}\n(run "greenformer --help" for usage)\n`);
      process.exitCode = 2;
    } else {
      const internal = err instanceof WebAssembly.RuntimeError ? ' (internal error: please report it)' : '';
      process.stderr.write(`greenformer: ${err.message}${internal}\n`);
      process.exitCode = 1;
    }
  },
);
