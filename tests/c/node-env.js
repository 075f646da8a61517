// --pre-js for the wasm C tests: emscripten's getenv sees its own ENV, not
// Node's; pass the one variable the tests read (the shared folder's place).
Module.preRun = (Module.preRun || []).concat(() => {
  if (process.env.GF_SHARED) ENV.GF_SHARED = process.env.GF_SHARED;
});
