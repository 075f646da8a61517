// Where Node-only code lives. Browsers and bundles for them never load it:
// the package's "node" export condition (web/node.js) installs
// web/platform.node.js before anything runs, and the "browser"/"default"
// entry (web/index.js) has no static or literal import of it, so bundlers
// neither include node:* modules nor complain about them. Code that imports
// web/index.js by path in Node (the CLI, the repository's tests) gets the
// same module on first use, through a specifier no bundler follows.

let node = null;

/** Installs the Node platform (web/node.js does, at import). */
export function setNodePlatform(platform) {
  node = platform;
}

/** The Node-only helpers (web/platform.node.js); call only where isNode. */
export async function nodePlatform() {
  if (!node) {
    // computed on purpose: a literal would pull node:* into browser bundles
    const file = ['.', 'platform.node.js'].join('/');
    node = await import(/* webpackIgnore: true */ /* @vite-ignore */ file);
  }
  return node;
}
