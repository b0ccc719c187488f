// Reads an image out of the Docker Engine as a `docker save` archive stream and
// walks it in one pass: manifest, config, and each layer's tar entries.
// It must never write the archive to disk or hold a whole layer in memory.
import { spawn } from 'node:child_process';
import { createGunzip } from 'node:zlib';
import { TarReader, type TarEntry } from './tar.js';
import { UserError } from '../errors.js';

/** The peer client that talks to the local engine (Debian's 20.10 build). */
export const DOCKER_CLI = '/usr/bin/docker';

export interface ArchiveVisitor {
  /** A top-level JSON member (manifest.json, the config, repositories). */
  json?(name: string, bytes: Buffer): void;
  /** A layer begins; `id` is its path in the archive (e.g. `<v1id>/layer.tar`). */
  layerStart?(id: string): void;
  layerData?(id: string, chunk: Buffer): void;
  layerEntry?(id: string, entry: TarEntry): void;
  layerEntryData?(id: string, chunk: Buffer): void;
  layerEntryEnd?(id: string): void;
  layerEnd?(id: string): void;
}

const GZIP_MAGIC = [0x1f, 0x8b];

// Walks the outer archive; each layer member is fed to an inner tar reader.
// Layers written gzip-compressed (OCI layouts) are inflated on the fly.
export function archiveWalker(visitor: ArchiveVisitor): { write(chunk: Buffer): void; end(): Promise<void> } {
  let current: { name: string; kind: 'json' | 'layer' | 'skip'; parts: Buffer[] } | undefined;
  let inner: TarReader | undefined;
  let gunzip: ReturnType<typeof createGunzip> | undefined;
  let sniffed = false;
  const pendingInflates: Promise<void>[] = [];

  const innerFor = (id: string) =>
    new TarReader({
      entry: (e) => visitor.layerEntry?.(id, e),
      data: (c) => visitor.layerEntryData?.(id, c),
      entryEnd: () => visitor.layerEntryEnd?.(id),
    });

  const outer = new TarReader({
    entry(e) {
      const isLayer = e.type === 'file' && (/(^|\/)layer\.tar$/.test(e.path) || /^blobs\/sha256\/[0-9a-f]{64}$/.test(e.path));
      const isJson = e.type === 'file' && (e.path.endsWith('.json') || e.path === 'repositories');
      current = { name: e.path, kind: isLayer ? 'layer' : isJson ? 'json' : 'skip', parts: [] };
      sniffed = false;
      if (isLayer) {
        visitor.layerStart?.(e.path);
        inner = innerFor(e.path);
      }
    },
    data(chunk) {
      if (!current) return;
      if (current.kind === 'json') current.parts.push(Buffer.from(chunk));
      else if (current.kind === 'layer') {
        const id = current.name;
        visitor.layerData?.(id, chunk);
        if (!sniffed) {
          sniffed = true;
          if (chunk[0] === GZIP_MAGIC[0] && chunk[1] === GZIP_MAGIC[1]) {
            const target = inner!;
            gunzip = createGunzip();
            gunzip.on('data', (c: Buffer) => target.write(c));
            pendingInflates.push(
              new Promise<void>((resolve, reject) => {
                gunzip!.on('end', () => {
                  try {
                    target.end();
                    visitor.layerEnd?.(id);
                    resolve();
                  } catch (err) {
                    reject(err as Error);
                  }
                });
                gunzip!.on('error', reject);
              }),
            );
          }
        }
        if (gunzip) gunzip.write(chunk);
        else inner!.write(chunk);
      }
    },
    entryEnd() {
      if (!current) return;
      if (current.kind === 'json') visitor.json?.(current.name, Buffer.concat(current.parts));
      if (current.kind === 'layer') {
        if (gunzip) gunzip.end();
        else {
          inner!.end();
          visitor.layerEnd?.(current.name);
        }
      }
      current = undefined;
      inner = undefined;
      gunzip = undefined;
    },
  });
  return {
    write: (chunk) => outer.write(chunk),
    async end() {
      outer.end();
      await Promise.all(pendingInflates);
    },
  };
}

/** Streams `docker save <image>` through a visitor. */
export async function walkSavedImage(image: string, visitor: ArchiveVisitor, docker = DOCKER_CLI): Promise<void> {
  const walker = archiveWalker(visitor);
  const child = spawn(docker, ['save', image], { stdio: ['ignore', 'pipe', 'pipe'] });
  const errParts: Buffer[] = [];
  child.stderr.on('data', (d: Buffer) => errParts.push(d));
  let failure: unknown;
  child.stdout.on('data', (chunk: Buffer) => {
    if (failure) return;
    try {
      walker.write(chunk);
    } catch (err) {
      failure = err;
    }
  });
  const status = await new Promise<number | null>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', resolve);
  });
  if (status !== 0) {
    const detail = Buffer.concat(errParts).toString('utf8').trim().split('\n').pop() ?? '';
    if (/No such image|reference does not exist/i.test(detail)) {
      throw new UserError(`image "${image}" is not in the engine's image store; build or pull it first.`);
    }
    throw new Error(`docker save ${image} failed (exit ${status}): ${detail}`);
  }
  if (failure) throw failure;
  await walker.end();
}
