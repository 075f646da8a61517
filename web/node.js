// The package's entry point in Node (the "node" export condition): the same
// API as web/index.js, with the Node-only helpers installed up front.
import * as platform from './platform.node.js';
import { setNodePlatform } from './platform.js';

setNodePlatform(platform);

export * from './index.js';
