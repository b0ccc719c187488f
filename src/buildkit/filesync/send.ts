// The sending side of fsutil's DiffCopy packet protocol, for one local
// directory: walk it (depth first, names in byte order, filtered by the
// include/exclude patterns and follow paths BuildKit asks for), send one STAT
// per entry and an empty STAT, then answer each REQ with the file's contents
// in 32 KiB DATA packets and an empty DATA, and a FIN with a FIN.
// BuildKit compares the stats with what it already has and only asks for
// files that changed, so a no-op rebuild sends no contents.
//
// Must never: read outside the directory (symlinks are sent as links, not
// followed, unless named in followpaths), or hold more than one chunk of a
// file in memory.
import { closeSync, lstatSync, openSync, readdirSync, readlinkSync, readSync } from 'node:fs';
import { open, realpath, stat as statFile, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { Packet_PacketType as PacketKind, type Packet } from '../gen/fsutil/wire_pb.js';
import { GrpcError, GrpcStatus } from '../grpc.js';
import { PatternMatcher } from './dockerignore.js';
import { encodeControlPacket, encodeStatPacket, framedDataPacket, PacketBatcher, PacketType, type StatFields } from './wire.js';

export { framedDataPacket, type StatFields } from './wire.js';

export const DATA_CHUNK = 32 * 1024;
const FILE_WORKERS = 8;
/** Chunks read in one readv call for large files: fewer syscalls and thread-pool trips, each chunk still its own packet. */
const CHUNKS_PER_READ = 8;

/** Go's os.FileMode bits, which fsutil puts on the wire. */
export const GoMode = {
  dir: 0x80000000,
  symlink: 1 << 27,
  device: 1 << 26,
  namedPipe: 1 << 25,
  socket: 1 << 24,
  setuid: 1 << 23,
  setgid: 1 << 22,
  charDevice: 1 << 21,
  sticky: 1 << 20,
} as const;

export interface WalkFilter {
  includePatterns?: string[];
  excludePatterns?: string[];
  followPaths?: string[];
}

export interface SendStats {
  /** Entries (files, directories, links) announced. */
  entries: number;
  /** Files whose contents BuildKit asked for. */
  filesSent: number;
  /** Bytes of file contents sent. */
  bytesSent: number;
}

/** The two directions of a DiffCopy stream, as the session gives them. */
export interface PacketStream {
  packets: AsyncIterable<Packet>;
  /** Sends packets already framed for gRPC (possibly several in one buffer); resolves when more may be sent. */
  sendFramed(framed: Buffer): Promise<void>;
}

/** Converts a Unix st_mode to Go's os.FileMode as fsutil sends it. */
export function goFileMode(stMode: number): number {
  let mode = stMode & 0o777;
  switch (stMode & 0o170000) {
    case 0o040000:
      mode |= GoMode.dir;
      break;
    case 0o120000:
      mode |= GoMode.symlink;
      break;
    case 0o060000:
      mode |= GoMode.device;
      break;
    case 0o020000:
      mode |= GoMode.device | GoMode.charDevice;
      break;
    case 0o010000:
      mode |= GoMode.namedPipe;
      break;
    // Sockets: fsutil clears the bit (tar cannot carry them); sent as plain entries.
  }
  if (stMode & 0o4000) mode |= GoMode.setuid;
  if (stMode & 0o2000) mode |= GoMode.setgid;
  if (stMode & 0o1000) mode |= GoMode.sticky;
  return mode >>> 0;
}

function isRegular(goMode: number): boolean {
  return (goMode & (GoMode.dir | GoMode.symlink | GoMode.device | GoMode.namedPipe | GoMode.socket | GoMode.charDevice)) === 0;
}

const byteOrder = (a: string, b: string): number => Buffer.compare(Buffer.from(a), Buffer.from(b));

/** Does `pattern` (a filepath.Match glob) match `name` or a prefix of it? fsutil's include rule. */
function matchPrefix(pattern: string, name: string): { matched: boolean; partial: boolean } {
  const depth = name.split('/').length - 1;
  const parts = pattern.split('/');
  let partial = false;
  let p = pattern;
  if (parts.length - 1 > depth) {
    p = parts.slice(0, depth + 1).join('/');
    partial = true;
  }
  return { matched: globMatch(p, name), partial };
}

/** Go's path.Match: `*` and `?` never cross `/`, `[...]` classes, `\` escapes. */
export function globMatch(pattern: string, name: string): boolean {
  let re = '^';
  for (let i = 0; i < pattern.length; i++) {
    const ch = pattern[i]!;
    if (ch === '*') re += '[^/]*';
    else if (ch === '?') re += '[^/]';
    else if (ch === '[') {
      const end = pattern.indexOf(']', i + 1);
      if (end < 0) return false;
      let cls = pattern.slice(i + 1, end);
      if (cls.startsWith('^') || cls.startsWith('!')) cls = `^${cls.slice(1)}`;
      re += `[${cls.replace(/\\/g, '\\\\')}]`;
      i = end;
    } else if (ch === '\\' && i + 1 < pattern.length) re += `\\${pattern[++i]}`;
    else re += /[.+^${}()|\\/]/.test(ch) ? `\\${ch}` : ch;
  }
  try {
    return new RegExp(`${re}$`, 's').test(name);
  } catch {
    return false;
  }
}

/** Resolves follow paths that are symlinks into the paths they point to (inside root). */
async function followTargets(root: string, followPaths: string[]): Promise<string[]> {
  const out: string[] = [];
  for (const p of followPaths) {
    const clean = path.posix.normalize(p).replace(/^\/+/, '');
    out.push(clean);
    try {
      const real = await realpath(path.join(root, clean));
      const rel = path.relative(root, real);
      if (!rel.startsWith('..') && !path.isAbsolute(rel)) out.push(rel.split(path.sep).join('/'));
    } catch {
      // A follow path that does not exist is simply not sent.
    }
  }
  return [...new Set(out)];
}

export interface WalkEntry {
  rel: string;
  abs: string;
  stat: StatFields;
}

const SURROGATE = /[\ud800-\udfff]/;

/** UTF-8 byte order. JS string order (UTF-16 units) agrees with it unless a name holds a surrogate pair. */
function sortNames(names: string[]): void {
  if (names.some((n) => SURROGATE.test(n))) names.sort(byteOrder);
  else names.sort();
}

/**
 * Walks `root` the way fsutil does and yields the entries to announce.
 * Only one directory listing per level is held at a time.
 */
export async function* walkDirectory(root: string, filter: WalkFilter = {}): AsyncGenerator<WalkEntry> {
  yield* await openWalk(root, filter);
}

/**
 * The walk itself is synchronous: readdir and lstat take microseconds on a
 * warm tree, where a thread-pool round trip per entry made large trees
 * several times slower to announce. The caller yields to the event loop
 * whenever the stream pushes back.
 */
async function openWalk(root: string, filter: WalkFilter): Promise<Generator<WalkEntry>> {
  const rootStat = await statFile(root);
  if (!rootStat.isDirectory()) throw new GrpcError(GrpcStatus.INVALID_ARGUMENT, `${root} is not a directory`);
  const excludes = filter.excludePatterns && filter.excludePatterns.length > 0 ? new PatternMatcher(filter.excludePatterns) : undefined;
  let includes = filter.includePatterns && filter.includePatterns.length > 0 ? filter.includePatterns.map((p) => path.posix.normalize(p)) : undefined;
  if (filter.followPaths && filter.followPaths.length > 0) {
    includes = [...new Set([...(includes ?? []), ...(await followTargets(root, filter.followPaths))])];
  }
  const seenInodes = new Map<string, string>();
  let lastIncludedDir = '';

  function* walk(dirAbs: string, dirRel: string): Generator<WalkEntry> {
    const names = readdirSync(dirAbs);
    sortNames(names);
    const absPrefix = dirAbs.endsWith('/') ? dirAbs : `${dirAbs}/`;
    const relPrefix = dirRel === '' ? '' : `${dirRel}/`;
    for (const name of names) {
      const rel = relPrefix + name;
      const abs = absPrefix + name;
      // Gone since the listing: not sent.
      const st = lstatSync(abs, { bigint: true, throwIfNoEntry: false });
      if (st === undefined) continue;
      const isDir = st.isDirectory();
      if (includes) {
        const underIncluded = lastIncludedDir !== '' && rel.startsWith(`${lastIncludedDir}/`);
        if (!underIncluded) {
          let matched = false;
          let partial = true;
          for (const p of includes) {
            const r = matchPrefix(p, rel);
            if (r.matched) {
              matched = true;
              if (!r.partial) {
                partial = false;
                break;
              }
            }
          }
          if (!matched) continue;
          if (!partial && isDir) lastIncludedDir = rel;
        }
      }
      if (excludes && excludes.matches(rel)) {
        if (!isDir) continue;
        // Descend only when a `!` pattern may re-include something below.
        const prefix = `${rel}/`;
        const reincludes = excludes.patterns.some((p) => p.exclusion && `${p.text}/`.startsWith(prefix));
        if (!reincludes) continue;
      }
      const stat: StatFields = {
        path: rel,
        mode: goFileMode(Number(st.mode)),
        uid: Number(st.uid),
        gid: Number(st.gid),
        size: 0n,
        modTime: st.mtimeNs,
        linkname: '',
        devmajor: 0n,
        devminor: 0n,
      };
      if (!isDir) {
        stat.size = st.size;
        const isLink = st.isSymbolicLink();
        if (isLink) stat.linkname = readlinkSync(abs);
        if (st.isBlockDevice() || st.isCharacterDevice()) {
          const rdev = st.rdev;
          stat.devmajor = (rdev >> 8n) & 0xfffn;
          stat.devminor = (rdev & 0xffn) | ((rdev >> 12n) & 0xfff00n);
        }
        if (st.nlink > 1n && !isLink) {
          // A second name for the same inode is sent as a hard link to the first.
          const key = `${st.dev}:${st.ino}`;
          const first = seenInodes.get(key);
          if (first !== undefined) {
            stat.linkname = first;
            stat.size = 0n;
          } else seenInodes.set(key, rel);
        }
      }
      yield { rel, abs, stat };
      if (isDir) yield* walk(abs, rel);
    }
  }

  return walk(root, '');
}

/**
 * Serves one DiffCopy call for `root`. Resolves when the receiver has sent
 * FIN (answered with FIN); rejects on an ERR packet or a failed read.
 */
export async function sendDirectory(root: string, stream: PacketStream, filter: WalkFilter, signal?: AbortSignal): Promise<SendStats> {
  const stats: SendStats = { entries: 0, filesSent: 0, bytesSent: 0 };
  const out = new PacketBatcher((framed) => stream.sendFramed(framed));
  const files = new Map<number, { abs: string; size: number }>();
  const requests: number[] = [];
  const waiters: (() => void)[] = [];
  let finished = false;
  let walkDone = false;
  let failure: unknown;
  const notify = (): void => {
    for (const w of waiters.splice(0)) w();
  };

  const walker = (async () => {
    let id = 0;
    for (const entry of await openWalk(root, filter)) {
      if (signal?.aborted || finished) return;
      const { stat } = entry;
      if (stat.linkname === '' && isRegular(stat.mode)) files.set(id, { abs: entry.abs, size: Number(stat.size) });
      id++;
      stats.entries++;
      const wait = out.push(encodeStatPacket(stat));
      if (wait) await wait;
    }
    await out.push(encodeStatPacket(undefined));
    walkDone = true;
  })().catch(async (err: unknown) => {
    failure = err;
    notify();
    try {
      await out.push(encodeControlPacket(PacketType.ERR, Buffer.from(String((err as Error).message ?? err))));
      await out.flush();
    } catch {
      // The stream is gone; the failure is reported by the caller.
    }
  });

  const reader = (async () => {
    for await (const p of stream.packets) {
      if (p.type === PacketKind.PACKET_REQ) {
        requests.push(p.ID);
        notify();
      } else if (p.type === PacketKind.PACKET_FIN) {
        finished = true;
        notify();
        return;
      } else if (p.type === PacketKind.PACKET_ERR) {
        throw new GrpcError(GrpcStatus.ABORTED, `the builder could not receive the files: ${Buffer.from(p.data).toString()}`);
      }
    }
    finished = true;
    notify();
  })().catch((err: unknown) => {
    failure = err;
    finished = true;
    notify();
  });

  // A few files in flight at once: the receiver writes them in parallel, and
  // large files are bound by reads, not the walk. Memory stays at most
  // FILE_WORKERS reads plus one batch and the stream's in-flight window.
  const worker = async (): Promise<void> => {
    for (;;) {
      if (failure) return;
      const id = requests.shift();
      if (id === undefined) {
        if (finished) return;
        await new Promise<void>((resolve) => waiters.push(resolve));
        continue;
      }
      const file = files.get(id);
      if (file === undefined) throw new GrpcError(GrpcStatus.INVALID_ARGUMENT, `the builder asked for unknown file id ${id}`);
      files.delete(id);
      if (file.size < DATA_CHUNK) await sendSmallFile(file.abs, id, out, stats);
      else await sendFile(file.abs, id, out, stats, signal);
    }
  };
  await Promise.all(Array.from({ length: FILE_WORKERS }, worker));
  await Promise.all([walker, reader]);
  if (failure) throw failure;
  if (!walkDone) throw new GrpcError(GrpcStatus.CANCELLED, 'the file sync ended before the directory was walked');
  await out.push(encodeControlPacket(PacketType.FIN));
  await out.flush();
  return stats;
}

async function sendFile(abs: string, id: number, out: PacketBatcher, stats: SendStats, signal?: AbortSignal): Promise<void> {
  const handle = await open(abs, 'r').catch(() => undefined);
  if (handle) {
    try {
      await sendChunks(handle, id, out, stats, signal);
    } finally {
      await handle.close();
    }
  }
  stats.filesSent++;
  await out.push(framedDataPacket(id, 0).frame);
}

/**
 * Reads up to CHUNKS_PER_READ chunks with one readv straight into their
 * packets' frames; a file that changed size since the walk is sent as read.
 */
async function sendChunks(handle: FileHandle, id: number, out: PacketBatcher, stats: SendStats, signal?: AbortSignal): Promise<void> {
  const { size } = await handle.stat();
  let remaining = size;
  for (;;) {
    if (signal?.aborted) throw new GrpcError(GrpcStatus.CANCELLED, 'the build was cancelled');
    const frames: { frame: Buffer; dataOffset: number; want: number }[] = [];
    let left = remaining > 0 ? remaining : DATA_CHUNK;
    for (let i = 0; i < CHUNKS_PER_READ && left > 0; i++) {
      const want = Math.min(DATA_CHUNK, left);
      frames.push({ ...framedDataPacket(id, want), want });
      left -= want;
    }
    const { bytesRead } = await handle.readv(
frames.map((f) => f.frame.subarray(f.dataOffset, f.dataOffset + f.want)));
    if (bytesRead === 0) break;
    let got = bytesRead;
    for (const f of frames) {
      if (got <= 0) break;
      const n = Math.min(got, f.want);
      const wait = out.push(n === f.want ? f.frame : framedDataCopy(id, f.frame.subarray(f.dataOffset, f.dataOffset + n)));
      if (wait) await wait;
      got -= n;
    }
    stats.bytesSent += bytesRead;
    remaining -= bytesRead;
  }
}

const smallReadScratch = Buffer.allocUnsafe(DATA_CHUNK);

/** Files under one chunk are read in one synchronous call: round trips, not bytes, dominate for them. */
async function sendSmallFile(abs: string, id: number, out: PacketBatcher, stats: SendStats): Promise<void> {
  let fd: number | undefined;
  try {
    fd = openSync(abs, 'r');
  } catch {
    // Gone or unreadable since the walk: send it empty, as fsutil does.
  }
  if (fd !== undefined) {
    try {
      for (;;) {
        // A file that grew past one chunk since the walk is sent whole, chunk by chunk.
        // The scratch buffer is used and copied out before any await.
        const n = readSync(fd, smallReadScratch, 0, DATA_CHUNK, null);
        if (n === 0) break;
        const wait = out.push(framedDataCopy(id, smallReadScratch.subarray(0, n)));
        stats.bytesSent += n;
        if (wait) await wait;
        if (n < DATA_CHUNK) break;
      }
    } finally {
      closeSync(fd);
    }
  }
  stats.filesSent++;
  const wait = out.push(framedDataPacket(id, 0).frame);
  if (wait) await wait;
}

function framedDataCopy(id: number, data: Buffer): Buffer {
  const { frame, dataOffset } = framedDataPacket(id, data.length);
  frame.set(data, dataOffset);
  return frame;
}
