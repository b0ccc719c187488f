// Reads a built image back from the engine and describes it in a normalised,
// comparable form: the merged filesystem (whiteouts applied across layers) and
// the config fields a Dockerfile controls. Used to compare two builds.
// It must never print file contents; it keeps only their SHA-256.
import { createHash, type Hash } from 'node:crypto';
import { posix } from 'node:path';
import type { TarEntryType } from './tar.js';
import { archiveWalker, walkSavedImage, DOCKER_CLI, type ArchiveVisitor } from './image-archive.js';

export interface FsEntry {
  path: string; // absolute, no trailing slash
  type: TarEntryType;
  mode: number; // permission bits incl. setuid/setgid/sticky
  uid: number;
  gid: number;
  size: number;
  sha256?: string; // regular files
  linkname?: string; // symlinks and hard links
}

/** The config fields a Dockerfile sets, normalised so that absent and empty compare equal. */
export interface ComparableConfig {
  Env: string[];
  Cmd: string[] | null;
  Entrypoint: string[] | null;
  WorkingDir: string;
  User: string;
  ExposedPorts: string[];
  Labels: Record<string, string>;
  Volumes: string[];
  StopSignal: string;
  Healthcheck: unknown;
  OnBuild: string[];
  Shell: string[] | null;
}

export interface ImageDescription {
  files: FsEntry[]; // sorted by path
  config: ComparableConfig;
  history: { created_by: string; empty_layer: boolean; comment?: string }[];
  layerCount: number;
  raw: Record<string, unknown>; // the whole image config JSON
}

export const OPAQUE_WHITEOUT = '.wh..wh..opq';
export const WHITEOUT_PREFIX = '.wh.';

export function normalisePath(p: string): string {
  const clean = posix.normalize(`/${p}`);
  return clean.length > 1 && clean.endsWith('/') ? clean.slice(0, -1) : clean;
}

function objectKeys(v: unknown): string[] {
  return v && typeof v === 'object' ? Object.keys(v).sort() : [];
}

export function comparableConfig(cfg: Record<string, unknown> | undefined): ComparableConfig {
  const c = (cfg ?? {}) as Record<string, unknown>;
  const arr = (v: unknown) => (Array.isArray(v) ? (v as string[]) : null);
  return {
    Env: arr(c.Env) ?? [],
    Cmd: arr(c.Cmd),
    Entrypoint: arr(c.Entrypoint),
    WorkingDir: typeof c.WorkingDir === 'string' ? c.WorkingDir : '',
    User: typeof c.User === 'string' ? c.User : '',
    ExposedPorts: objectKeys(c.ExposedPorts),
    Labels: Object.fromEntries(Object.entries((c.Labels as Record<string, string> | null) ?? {}).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))),
    Volumes: objectKeys(c.Volumes),
    StopSignal: typeof c.StopSignal === 'string' ? c.StopSignal : '',
    Healthcheck: c.Healthcheck ?? null,
    OnBuild: arr(c.OnBuild) ?? [],
    Shell: arr(c.Shell),
  };
}

interface LayerListing {
  entries: FsEntry[];
  whiteouts: string[];
  opaque: string[];
}

/** Applies layers bottom-up: each layer's whiteouts hide lower content, then its entries land. */
export function mergeLayers(layers: LayerListing[]): FsEntry[] {
  const fs = new Map<string, FsEntry>();
  const removeTree = (dir: string, keepDir: boolean) => {
    const prefix = dir === '/' ? '/' : `${dir}/`;
    for (const p of [...fs.keys()]) if (p.startsWith(prefix)) fs.delete(p);
    if (!keepDir) fs.delete(dir);
  };
  for (const layer of layers) {
    for (const dir of layer.opaque) removeTree(dir, true);
    for (const p of layer.whiteouts) removeTree(p, false);
    for (const e of layer.entries) {
      const prev = fs.get(e.path);
      // A non-directory replacing a directory hides everything below it.
      if (prev && prev.type === 'dir' && e.type !== 'dir') removeTree(e.path, true);
      fs.set(e.path, e);
    }
  }
  return [...fs.values()].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}

/** Describes an image in the engine's store (`docker save` under the hood). */
export function describeImage(image: string, docker = DOCKER_CLI): Promise<ImageDescription> {
  return describeWith(image, (visitor) => walkSavedImage(image, visitor, docker));
}

/** Describes an image from a stream of `docker save` bytes. */
export function describeArchive(archive: AsyncIterable<Buffer>, label = 'archive'): Promise<ImageDescription> {
  return describeWith(label, async (visitor) => {
    const walker = archiveWalker(visitor);
    for await (const chunk of archive) walker.write(chunk);
    await walker.end();
  });
}

async function describeWith(image: string, walk: (v: ArchiveVisitor) => Promise<void>): Promise<ImageDescription> {
  const layers = new Map<string, LayerListing>();
  const jsons = new Map<string, Buffer>();
  let current: { entry: FsEntry; hash: Hash } | undefined;
  await walk({
      json: (name, bytes) => jsons.set(name, bytes),
      layerStart: (id) => layers.set(id, { entries: [], whiteouts: [], opaque: [] }),
      layerEntry(id, e) {
        const layer = layers.get(id)!;
        const path = normalisePath(e.path);
        const base = posix.basename(path);
        const dir = posix.dirname(path);
        current = undefined;
        if (base === OPAQUE_WHITEOUT) {
          layer.opaque.push(dir);
          return;
        }
        if (base.startsWith(WHITEOUT_PREFIX)) {
          layer.whiteouts.push(posix.join(dir, base.slice(WHITEOUT_PREFIX.length)));
          return;
        }
        if (path === '/') return; // the root's own entry differs by exporter, not by Dockerfile
        const entry: FsEntry = { path, type: e.type, mode: e.mode, uid: e.uid, gid: e.gid, size: e.type === 'file' ? e.size : 0 };
        if (e.type === 'symlink') entry.linkname = e.linkname;
        if (e.type === 'hardlink') entry.linkname = normalisePath(e.linkname);
        layer.entries.push(entry);
        if (e.type === 'file') current = { entry, hash: createHash('sha256') };
      },
      layerEntryData(_id, chunk) {
        current?.hash.update(chunk);
      },
      layerEntryEnd() {
        if (current) current.entry.sha256 = current.hash.digest('hex');
        current = undefined;
      },
  });
  const manifestBytes = jsons.get('manifest.json');
  if (!manifestBytes) throw new Error(`docker save ${image} produced no manifest.json`);
  const manifest = JSON.parse(manifestBytes.toString('utf8')) as { Config: string; Layers: string[] }[];
  const m = manifest[0]!;
  const raw = JSON.parse(jsons.get(m.Config)!.toString('utf8')) as Record<string, unknown>;
  const ordered = m.Layers.map((id) => {
    const l = layers.get(id);
    if (!l) throw new Error(`docker save ${image}: layer ${id} listed in the manifest is missing`);
    return l;
  });
  // Hard links carry the content of their target: resolve them to it so that
  // the comparison does not depend on which of two paths became the link.
  const files = mergeLayers(ordered);
  const byPath = new Map(files.map((f) => [f.path, f]));
  for (const f of files) {
    if (f.type === 'hardlink' && f.linkname) {
      const target = byPath.get(f.linkname);
      f.type = 'file';
      f.sha256 = target?.sha256;
      f.size = target?.size ?? 0;
      delete f.linkname;
    }
  }
  const history = ((raw.history as { created_by?: string; empty_layer?: boolean; comment?: string }[] | undefined) ?? []).map(
    (h) => ({ created_by: h.created_by ?? '', empty_layer: h.empty_layer === true, ...(h.comment ? { comment: h.comment } : {}) }),
  );
  return { files, config: comparableConfig(raw.config as Record<string, unknown>), history, layerCount: m.Layers.length, raw };
}
