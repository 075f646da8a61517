// The assetBase option made absolute: its own module, apart from assets.js,
// whose list of files the page's bundle does not need (the worker loads them).

/** assetBase as an absolute URL ending in a slash (relative to the page). */
export function assetBaseUrl(assetBase) {
  let s = String(assetBase);
  if (!s.endsWith('/')) s += '/';
  return new URL(s, globalThis.location?.href).href;
}
