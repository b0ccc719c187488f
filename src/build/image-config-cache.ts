// Base images' config files, kept on disk by their digest, which is the
// image's id in the Docker Engine's store. A build looks a base image up in
// the engine's store anyway; when the config with that digest is here, the
// Dockerfile is compiled before the builder is even connected and the build
// is handed to it as a finished definition, instead of asking the builder
// for each config through the frontend gateway first.
//
// Content-addressed: a file is used only when its SHA-256 is its name, so a
// stale, partial or tampered file is never read as a config. Best effort: a
// cache that cannot be read or written only means the gateway is asked.
// Image configs are public metadata of images; nothing secret is kept here.
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { isAbsolute, join } from 'node:path';
import type { ImageConfigFile } from '../buildkit/index.js';

/** $XDG_CACHE_HOME/hangar/image-configs (~/.cache/hangar/image-configs). */
export function imageConfigCacheDir(env: NodeJS.ProcessEnv): string {
  const base = env.XDG_CACHE_HOME && isAbsolute(env.XDG_CACHE_HOME) ? env.XDG_CACHE_HOME : join(env.HOME || homedir(), '.cache');
  return join(base, 'hangar', 'image-configs');
}

const DIGEST = /^sha256:([0-9a-f]{64})$/;

/** The config whose digest is `id`, if it is here and intact. */
export function readCachedImageConfig(dir: string, id: string): ImageConfigFile | undefined {
  const hex = DIGEST.exec(id)?.[1];
  if (!hex) return undefined;
  let raw: Buffer;
  try {
    raw = readFileSync(join(dir, `${hex}.json`));
  } catch {
    return undefined;
  }
  if (createHash('sha256').update(raw).digest('hex') !== hex) return undefined;
  try {
    const config = JSON.parse(raw.toString('utf8')) as unknown;
    return config !== null && typeof config === 'object' && !Array.isArray(config) ? (config as ImageConfigFile) : undefined;
  } catch {
    return undefined;
  }
}

/** Keeps a config as the builder gave it, under its digest. */
export function cacheImageConfig(dir: string, raw: Uint8Array): void {
  const hex = createHash('sha256').update(raw).digest('hex');
  // Written aside and renamed: a reader sees the whole file or none.
  const tmp = join(dir, `.${hex}.${randomBytes(4).toString('hex')}.tmp`);
  try {
    mkdirSync(dir, { recursive: true });
    writeFileSync(tmp, raw, { mode: 0o644 });
    renameSync(tmp, join(dir, `${hex}.json`));
  } catch {
    // Best effort: the next build asks the builder again.
    try {
      rmSync(tmp, { force: true });
    } catch {
      // The directory itself is unusable; there is no file to remove.
    }
  }
}
