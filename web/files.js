// Node only (imported dynamically by quantize.js, statically by the CLI):
// writing an output file without ever destroying an input or a previous
// output. The bytes go to a temporary file beside the destination
// (.NAME.RANDOM.tmp), which is renamed over the destination only once it is
// complete, and removed when anything fails; an output that is the input
// (same path, ./path, a symlink or a hard link to it) is refused before
// anything is opened for writing.
import { randomBytes } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The filesystem path a source names (a path string, file: URL string or URL), or null (http URLs, bytes, streams). */
export function localPath(source) {
  if (source instanceof URL) return source.protocol === 'file:' ? fileURLToPath(source) : null;
  if (typeof source !== 'string') return null;
  if (source.startsWith('file:')) return fileURLToPath(source);
  const isUrl = /^[a-z][a-z0-9+.-]*:/i.test(source) && !/^[a-z]:[\\/]/i.test(source);
  return isUrl ? null : source;
}

async function statOrNull(path) {
  try {
    return await fsp.stat(path, { bigint: true });
  } catch {
    return null;
  }
}

async function realpathOrNull(path) {
  try {
    return await fsp.realpath(path);
  } catch {
    return null;
  }
}

/** Whether two paths name the same file: the same resolved path, the same real path, or (both existing) the same device and inode. */
export async function sameFile(a, b) {
  if (resolve(a) === resolve(b)) return true;
  const [ra, rb] = await Promise.all([realpathOrNull(a), realpathOrNull(b)]);
  if (ra !== null && ra === rb) return true;
  const [sa, sb] = await Promise.all([statOrNull(a), statOrNull(b)]);
  return !!(sa && sb && sa.ino !== 0n && sa.dev === sb.dev && sa.ino === sb.ino);
}

/** Throws (naming both paths) when `output` is the same file as `input`. */
export async function refuseSameFile(input, output, what) {
  if (await sameFile(input, output)) {
    throw new Error(`${what}: the output ${output} is the input ${input} (the same file); write the output to another path`);
  }
}

/**
 * Opens `path` for writing through a temporary file in its directory:
 * { write(bytes), close() (renames into place), abort() (removes the
 * temporary file; the destination is untouched) }. A destination that is a
 * symlink stays one: its target is replaced.
 */
export async function openOutput(path) {
  const target = (await realpathOrNull(path)) ?? path;
  const previous = await statOrNull(target);
  const tmp = join(dirname(target), `.${basename(target)}.${randomBytes(6).toString('hex')}.tmp`);
  const handle = await fsp.open(tmp, 'wx');
  let open = true;
  const abort = async () => {
    if (open) await handle.close().catch(() => {});
    open = false;
    await fsp.unlink(tmp).catch(() => {});
  };
  try {
    if (previous?.isFile()) await handle.chmod(Number(previous.mode & 0o7777n)); // a replaced file keeps its permissions
  } catch (e) {
    await abort();
    throw e;
  }
  return {
    tmp,
    write: async (view) => {
      for (let off = 0; off < view.length; ) off += (await handle.write(view, off, view.length - off)).bytesWritten;
    },
    close: async () => {
      try {
        await handle.close();
        open = false;
        await fsp.rename(tmp, target);
      } catch (e) {
        await abort();
        throw e;
      }
    },
    abort,
  };
}

/** Writes bytes to `path` through a temporary file (see openOutput). */
export async function writeOutput(path, bytes) {
  const out = await openOutput(path);
  try {
    await out.write(bytes);
  } catch (e) {
    await out.abort();
    throw e;
  }
  await out.close();
}
