// --pre-js for the wasm C tests: emscripten's getenv sees its own ENV, not
// Node's; pass the one variable the tests read (the fixtures folder's place).
// ENV exists only in programs that call getenv.
Module.preRun = (Module.preRun || []).concat(() => {
  if (typeof ENV !== 'undefined' && process.env.GF_FIXTURES) ENV.GF_FIXTURES = process.env.GF_FIXTURES;
});
