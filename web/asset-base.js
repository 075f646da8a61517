// The assetBase option made absolute: its own module, apart from assets.js,
// whose list of files the page's bundle does not need (the worker loads them).

/** assetBase as an absolute URL ending in a slash (relative to the page). */
export function assetBaseUrl(assetBase) {
  let s = String(assetBase);
  if (!s.endsWith('/')) s += '/';
  return new URL(s, globalThis.location?.href).href;
}

/**
 * Checks an assetBase option (loadModel, quantizeModel, pruneModel, ggufSummary): undefined, a non-empty URL
 * string or a URL; anything else is a TypeError naming what was given.
 */
export function checkAssetBase(assetBase, what) {
  if (assetBase === undefined) return;
  const isUrl = typeof URL !== 'undefined' && assetBase instanceof URL;
  if ((typeof assetBase === 'string' && assetBase !== '') || isUrl) return;
  const got = typeof assetBase === 'string' ? "''" : assetBase === null ? 'null' : typeof assetBase;
  throw new TypeError(`${what}: assetBase must be a non-empty URL string or URL (the folder holding a copy of the package's dist/), got ${got}`);
}
