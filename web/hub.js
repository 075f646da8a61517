// Models named as the Hugging Face Hub names them: 'hf:owner/repo/path/file.gguf'
// (optionally 'hf:owner/repo/file.gguf@revision') or { hf: { repo, file,
// revision } }, resolved to the hub's resolve URL. `hubEndpoint` (default
// https://huggingface.co) points elsewhere: a mirror, or a local server in tests.
import { show } from './options.js';

export const DEFAULT_HUB = 'https://huggingface.co';
const REPO = /^[\w.-]+\/[\w.-]+$/;

/** The hub reference a source names ({ repo, file, revision }), or null when it is not one; `what` names the caller in errors. */
export function hubReference(source, what = 'loadModel') {
  if (typeof source === 'string' && source.startsWith('hf:')) {
    const m = /^hf:([^/\s]+\/[^/\s]+)\/([^@\s]+?)(?:@([^/\s@]+))?$/.exec(source);
    if (!m) throw new TypeError(`${what}: a hub source is 'hf:owner/repo/file.gguf' or 'hf:owner/repo/file.gguf@revision', got ${show(source)}`);
    return checked({ repo: m[1], file: m[2], revision: m[3] }, what);
  }
  if (source && typeof source === 'object' && !Array.isArray(source) && 'hf' in source && Object.keys(source).length === 1) {
    const { hf } = source;
    if (!hf || typeof hf !== 'object') throw new TypeError(`${what}: { hf } must be { repo, file, revision? }, got ${show(hf)}`);
    const extra = Object.keys(hf).find((k) => !['repo', 'file', 'revision'].includes(k));
    if (extra) throw new TypeError(`${what}: unknown key '${extra}' in { hf } (repo, file, revision)`);
    return checked({ repo: hf.repo, file: hf.file, revision: hf.revision }, what);
  }
  return null;
}

function checked({ repo, file, revision }, what) {
  if (typeof repo !== 'string' || !REPO.test(repo)) throw new TypeError(`${what}: hf repo must be 'owner/name', got ${show(repo)}`);
  if (typeof file !== 'string' || !file || file.startsWith('/') || file.split('/').includes('..')) {
    throw new TypeError(`${what}: hf file must be a path inside the repository, got ${show(file)}`);
  }
  if (revision !== undefined && (typeof revision !== 'string' || !/^[\w.-]+$/.test(revision))) {
    throw new TypeError(`${what}: hf revision must be a branch, tag or commit, got ${show(revision)}`);
  }
  return { repo, file, revision: revision ?? 'main' };
}

/** The URL a hub reference resolves to: {endpoint}/{repo}/resolve/{revision}/{file}. */
export function hubUrl({ repo, file, revision }, endpoint = DEFAULT_HUB, what = 'loadModel') {
  if (typeof endpoint !== 'string' || !/^https?:\/\//.test(endpoint)) throw new TypeError(`${what}: hubEndpoint must be an http(s) URL, got ${show(endpoint)}`);
  const path = file.split('/').map(encodeURIComponent).join('/');
  return `${endpoint.replace(/\/+$/, '')}/${repo}/resolve/${encodeURIComponent(revision)}/${path}`;
}

/**
 * A source (or a split model's list of shards) with its hub names resolved to the hub's URLs, as loadModel, quantize
 * and ggufSummary take them; a hubEndpoint without any hub name is an error.
 */
export function resolveHub(source, endpoint, what = 'loadModel') {
  const list = Array.isArray(source) ? source : [source];
  const refs = list.map((s) => hubReference(s, what));
  if (!refs.some(Boolean)) {
    if (endpoint !== undefined) throw new TypeError(`${what}: hubEndpoint is for hf: sources`);
    return source;
  }
  const out = list.map((s, i) => (refs[i] ? hubUrl(refs[i], endpoint, what) : s));
  return Array.isArray(source) ? out : out[0];
}
