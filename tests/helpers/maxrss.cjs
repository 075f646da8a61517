// Preloaded with `node --require` by the memory tests: reports the process's
// peak resident set size (KiB) on stderr when it exits.
process.on('exit', () => {
  process.stderr.write(`\nMAXRSS_KB=${process.resourceUsage().maxRSS}\n`);
});
