// The receiving side of fsutil's DiffCopy, as the builder's `local` exporter
// drives it: the builder lists the result (one STAT per entry, parents before
// children, an empty STAT at the end), we ask for every regular file's
// contents by the index of its STAT (REQ), it sends them as DATA packets (an
// empty one ends a file), and once all are written we send FIN and wait for
// its FIN. Entries are merged into the destination: what is there and not in
// the result stays, as with `docker build -o`. Files are owned by the user
// running Hangar, as docker's client does.
//
// Must never: write outside the destination. Every path is checked (relative,
// no `..`), and an entry's parent must be a directory this stream created or
// found as a real directory, so a symlink in the result (or already in the
// destination) is never followed to write through it.
import { chmodSync, closeSync, linkSync, lstatSync, lutimesSync, mkdirSync, openSync, rmSync, symlinkSync, utimesSync, writeSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { GrpcError, GrpcStatus } from '../grpc.js';
import type { FsPacket } from '../messages.js';
import { GoMode } from './send.js';
import { PacketType, type StatFields } from './wire.js';

export interface ReceiveStats {
  /** Entries the builder listed. */
  entries: number;
  /** Regular files written. */
  files: number;
  /** Bytes of file contents written. */
  bytes: number;
}

/** The two directions of the stream, as the session gives them. */
export interface ReceiveStream {
  packets: AsyncIterable<FsPacket>;
  send(packet: FsPacket): Promise<void>;
}

const NOTHING = new Uint8Array(0);

/** Unix permission bits (with setuid, setgid, sticky) of a Go os.FileMode. */
function unixPerm(goMode: number): number {
  let perm = goMode & 0o777;
  if (goMode & GoMode.setuid) perm |= 0o4000;
  if (goMode & GoMode.setgid) perm |= 0o2000;
  if (goMode & GoMode.sticky) perm |= 0o1000;
  return perm;
}

function kindOf(goMode: number): 'dir' | 'symlink' | 'file' | 'device' | 'fifo' | 'socket' {
  if (goMode & GoMode.dir) return 'dir';
  if (goMode & GoMode.symlink) return 'symlink';
  if (goMode & GoMode.device) return 'device';
  if (goMode & GoMode.namedPipe) return 'fifo';
  if (goMode & GoMode.socket) return 'socket';
  return 'file';
}

/**
 * A device node or FIFO, made as docker's client makes them (mknod); Node
 * has no call for it, so coreutils' mknod does it. Devices need root.
 */
function makeNode(abs: string, rel: string, st: StatFields): void {
  const device = (st.mode & GoMode.device) !== 0;
  const args = device ? [abs, st.mode & GoMode.charDevice ? 'c' : 'b', String(st.devmajor), String(st.devminor)] : [abs, 'p'];
  try {
    execFileSync('mknod', args, { stdio: ['ignore', 'ignore', 'pipe'] });
  } catch {
    refuse(
      `the result holds ${rel}, a ${device ? 'device node' : 'FIFO'}, which could not be created in the directory${device && process.getuid?.() !== 0 ? ' (that needs root)' : ''}; export it with --output type=tar instead`,
    );
  }
}

/** Seconds (with a fraction) for utimes, from nanoseconds since the epoch. */
function seconds(ns: bigint): number {
  return Number(ns / 1000n) / 1e6;
}

function refuse(message: string): never {
  throw new GrpcError(GrpcStatus.INVALID_ARGUMENT, message);
}

/** A path from the builder, checked: relative, normalized, inside the destination. */
function entryPath(p: string): string {
  const norm = path.posix.normalize(p);
  if (p === '' || path.posix.isAbsolute(p) || norm !== p || norm === '.' || norm.split('/').includes('..')) {
    refuse(`the builder sent an entry path ${JSON.stringify(p)} that is not a plain relative path`);
  }
  return norm;
}

/** Makes room at `abs` for an entry that is not a directory (a directory in the way goes, as docker replaces it). */
function clearPath(abs: string): void {
  rmSync(abs, { recursive: true, force: true });
}

export async function receiveDirectory(dest: string, stream: ReceiveStream, signal?: AbortSignal): Promise<ReceiveStats> {
  const root = path.resolve(dest);
  // Created as docker's client creates it: private to the user.
  mkdirSync(root, { recursive: true, mode: 0o700 });
  const stats: ReceiveStats = { entries: 0, files: 0, bytes: 0 };
  // Directories that are safe to write into: the root, and each one this stream listed.
  const dirs = new Set<string>(['']);
  // Final modes and times of directories, applied last (children change a directory's mtime, and a read-only one must stay writable until then).
  const dirMeta: { abs: string; perm: number; mtime: number }[] = [];
  // Regular files by STAT index: where they go and how they end.
  const wanted = new Map<number, { abs: string; perm: number; mtime: number; fd?: number }>();
  const regular = new Map<string, string>();
  let listed = false;
  let finSent = false;
  // Hard links, made once every file's contents are written.
  const linksLater: { abs: string; target: string }[] = [];

  const parentOk = (rel: string): void => {
    const parent = path.posix.dirname(rel);
    if (!dirs.has(parent === '.' ? '' : parent)) refuse(`the builder listed ${rel} before its directory`);
  };

  const addEntry = async (st: StatFields): Promise<void> => {
    const rel = entryPath(st.path);
    parentOk(rel);
    const abs = path.join(root, rel);
    const perm = unixPerm(st.mode);
    const mtime = seconds(st.modTime);
    switch (kindOf(st.mode)) {
      case 'dir': {
        let isDir = false;
        try {
          isDir = lstatSync(abs).isDirectory();
        } catch {
          // created below
        }
        if (!isDir) {
          clearPath(abs);
          mkdirSync(abs, { mode: 0o700 });
        }
        chmodSync(abs, perm | 0o700);
        dirs.add(rel);
        dirMeta.push({ abs, perm, mtime });
        break;
      }
      case 'symlink':
        clearPath(abs);
        symlinkSync(st.linkname, abs);
        lutimesSync(abs, mtime, mtime);
        break;
      case 'file':
        clearPath(abs);
        if (st.linkname !== '') {
          // A hard link to a file listed earlier.
          const target = regular.get(st.linkname);
          if (target === undefined) refuse(`the builder sent a hard link ${rel} to ${JSON.stringify(st.linkname)}, which it did not list before`);
          // Its contents may still be on the way: link once the stream ends.
          linksLater.push({ abs, target });
        } else {
          // A file is named by the index of its STAT: the entries listed before it.
          wanted.set(stats.entries, { abs, perm, mtime });
          await stream.send({ type: PacketType.REQ, ID: stats.entries, data: NOTHING });
        }
        regular.set(rel, abs);
        break;
      case 'device':
      case 'fifo':
        clearPath(abs);
        makeNode(abs, rel, st);
        chmodSync(abs, perm);
        utimesSync(abs, mtime, mtime);
        break;
      case 'socket':
        refuse(`the result holds ${rel}, a socket, which a directory export cannot write; export it with --output type=tar instead`);
    }
  };
  const finishFile = (id: number): void => {
    const f = wanted.get(id)!;
    if (f.fd === undefined) f.fd = openSync(f.abs, 'wx', 0o600);
    closeSync(f.fd);
    chmodSync(f.abs, f.perm);
    utimesSync(f.abs, f.mtime, f.mtime);
    wanted.delete(id);
    stats.files++;
  };

  const maybeFinish = async (): Promise<void> => {
    if (!listed || wanted.size > 0 || finSent) return;
    for (const l of linksLater) linkSync(l.target, l.abs);
    for (const d of dirMeta.reverse()) {
      chmodSync(d.abs, d.perm);
      utimesSync(d.abs, d.mtime, d.mtime);
    }
    finSent = true;
    await stream.send({ type: PacketType.FIN, ID: 0, data: NOTHING });
  };

  try {
    for await (const p of stream.packets) {
      if (signal?.aborted) throw new GrpcError(GrpcStatus.CANCELLED, 'the export was cancelled');
      switch (p.type) {
        case PacketType.STAT:
          if (listed) refuse('the builder sent an entry after the end of its listing');
          if (!p.stat) {
            listed = true;
            await maybeFinish();
            break;
          }
          await addEntry(p.stat);
          stats.entries++;
          break;
        case PacketType.DATA: {
          const f = wanted.get(p.ID);
          if (!f) refuse(`the builder sent data for file ${p.ID}, which was not asked for`);
          if (p.data.length === 0) {
            finishFile(p.ID);
            await maybeFinish();
            break;
          }
          if (f.fd === undefined) f.fd = openSync(f.abs, 'wx', 0o600);
          let off = 0;
          while (off < p.data.length) off += writeSync(f.fd, p.data, off);
          stats.bytes += p.data.length;
          break;
        }
        case PacketType.ERR:
          throw new GrpcError(GrpcStatus.ABORTED, `the builder could not send the result: ${Buffer.from(p.data).toString()}`);
        case PacketType.FIN:
          if (!finSent) refuse('the builder ended the export before every file was received');
          return stats;
      }
    }
    return refuse('the builder closed the export stream before it was finished');
  } catch (err) {
    // Tell the sender why, if the stream still carries anything.
    const why = err instanceof GrpcError ? err.details : err instanceof Error ? err.message : String(err);
    if (!finSent) await stream.send({ type: PacketType.ERR, ID: 0, data: Buffer.from(why) }).catch(() => undefined);
    throw err;
  } finally {
    for (const f of wanted.values()) if (f.fd !== undefined) closeSync(f.fd);
  }
}
