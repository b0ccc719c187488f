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
import { closeSync, lstatSync, openSync, readSync } from 'node:fs';
import { open, opendir, readlink, realpath, stat as statFile } from 'node:fs/promises';
import path from 'node:path';
import { create, toBinary } from '@bufbuild/protobuf';
import { Packet_PacketType as PacketType, PacketSchema, type Packet } from '../gen/fsutil/wire_pb.js';
import { StatSchema, type Stat } from '../gen/fsutil/stat_pb.js';
import { GrpcError, GrpcStatus } from '../grpc.js';
import { PatternMatcher } from './dockerignore.js';

export const DATA_CHUNK = 32 * 1024;
const FILE_WORKERS = 8;

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
  send(bytes: Uint8Array): Promise<void>;
  /** Sends a packet already framed for gRPC (DATA packets, to copy file bytes once). */
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

interface WalkEntry {
  rel: string;
  abs: string;
  stat: Stat;
}

/**
 * Walks `root` the way fsutil does and yields the entries to announce.
 * Streaming: only one directory listing per level is held at a time.
 */
export async function* walkDirectory(root: string, filter: WalkFilter = {}): AsyncGenerator<WalkEntry> {
  const rootStat = await statFile(root);
  if (!rootStat.isDirectory()) throw new GrpcError(GrpcStatus.INVALID_ARGUMENT, `${root} is not a directory`);
  const excludes = filter.excludePatterns && filter.excludePatterns.length > 0 ? new PatternMatcher(filter.excludePatterns) : undefined;
  let includes = filter.includePatterns && filter.includePatterns.length > 0 ? filter.includePatterns.map((p) => path.posix.normalize(p)) : undefined;
  if (filter.followPaths && filter.followPaths.length > 0) {
    includes = [...new Set([...(includes ?? []), ...(await followTargets(root, filter.followPaths))])];
  }
  const seenInodes = new Map<string, string>();
  let lastIncludedDir = '';

  async function* walk(dirAbs: string, dirRel: string): AsyncGenerator<WalkEntry> {
    const names: string[] = [];
    const dir = await opendir(dirAbs);
    for await (const d of dir) names.push(d.name);
    names.sort(byteOrder);
    for (const name of names) {
      const rel = dirRel === '' ? name : `${dirRel}/${name}`;
      const abs = path.join(dirAbs, name);
      let st;
      try {
        // Synchronous: a few microseconds each, where a thread-pool round trip
        // per entry made large trees several times slower to announce.
        st = lstatSync(abs, { bigint: true });
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') continue;
        throw err;
      }
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
      const goMode = goFileMode(Number(st.mode));
      const stat = create(StatSchema, {
        path: rel,
        mode: goMode,
        uid: Number(st.uid),
        gid: Number(st.gid),
        modTime: st.mtimeNs,
      });
      if (!isDir) {
        stat.size = st.size;
        if (st.isSymbolicLink()) stat.linkname = await readlink(abs);
        if (st.isBlockDevice() || st.isCharacterDevice()) {
          const rdev = st.rdev;
          stat.devmajor = (rdev >> 8n) & 0xfffn;
          stat.devminor = (rdev & 0xffn) | ((rdev >> 12n) & 0xfff00n);
        }
        if (st.nlink > 1n && !st.isSymbolicLink()) {
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

  yield* walk(root, '');
}

function packetBytes(p: Partial<Omit<Packet, '$typeName'>>): Uint8Array {
  return toBinary(PacketSchema, create(PacketSchema, p));
}

/**
 * Encodes a gRPC-framed DATA packet by hand (field 1 type, 3 ID, 4 data):
 * file bytes are read straight into the frame, so each chunk is copied once.
 */
export function framedDataPacket(id: number, dataLength: number): { frame: Buffer; dataOffset: number } {
  const head: number[] = [0x08, PacketType.PACKET_DATA];
  if (id !== 0) head.push(0x18, ...varint(id));
  if (dataLength > 0) head.push(0x22, ...varint(dataLength));
  const frame = Buffer.allocUnsafe(5 + head.length + dataLength);
  frame[0] = 0;
  frame.writeUInt32BE(head.length + dataLength, 1);
  frame.set(head, 5);
  return { frame, dataOffset: 5 + head.length };
}

function varint(n: number): number[] {
  const out: number[] = [];
  let v = n >>> 0;
  while (v >= 0x80) {
    out.push((v & 0x7f) | 0x80);
    v >>>= 7;
  }
  out.push(v);
  return out;
}

/**
 * Serves one DiffCopy call for `root`. Resolves when the receiver has sent
 * FIN (answered with FIN); rejects on an ERR packet or a failed read.
 */
export async function sendDirectory(root: string, stream: PacketStream, filter: WalkFilter, signal?: AbortSignal): Promise<SendStats> {
  const stats: SendStats = { entries: 0, filesSent: 0, bytesSent: 0 };
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
    for await (const entry of walkDirectory(root, filter)) {
      if (signal?.aborted || finished) return;
      if (isRegular(entry.stat.mode) && entry.stat.linkname === '') files.set(id, { abs: entry.abs, size: Number(entry.stat.size) });
      id++;
      stats.entries++;
      await stream.send(packetBytes({ type: PacketType.PACKET_STAT, stat: entry.stat }));
    }
    await stream.send(packetBytes({ type: PacketType.PACKET_STAT }));
    walkDone = true;
  })().catch(async (err: unknown) => {
    failure = err;
    notify();
    await stream.send(packetBytes({ type: PacketType.PACKET_ERR, data: Buffer.from(String((err as Error).message ?? err)) })).catch(() => undefined);
  });

  const reader = (async () => {
    for await (const p of stream.packets) {
      if (p.type === PacketType.PACKET_REQ) {
        requests.push(p.ID);
        notify();
      } else if (p.type === PacketType.PACKET_FIN) {
        finished = true;
        notify();
        return;
      } else if (p.type === PacketType.PACKET_ERR) {
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
  // small files are bound by round trips, not bandwidth. Memory stays at
  // most FILE_WORKERS chunks plus the in-flight window.
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
      if (file.size < DATA_CHUNK) await sendSmallFile(file.abs, id, stream, stats);
      else await sendFile(file.abs, id, stream, stats, signal);
    }
  };
  await Promise.all(Array.from({ length: FILE_WORKERS }, worker));
  await Promise.all([walker, reader]);
  if (failure) throw failure;
  if (!walkDone) throw new GrpcError(GrpcStatus.CANCELLED, 'the file sync ended before the directory was walked');
  await stream.send(packetBytes({ type: PacketType.PACKET_FIN }));
  return stats;
}

async function sendFile(abs: string, id: number, stream: PacketStream, stats: SendStats, signal?: AbortSignal): Promise<void> {
  const handle = await open(abs, 'r').catch(() => undefined);
  if (handle) {
    try {
      const { size } = await handle.stat();
      let remaining = size;
      // Read into the frame for the expected length; a file that changed size is sent as read.
      for (;;) {
        if (signal?.aborted) throw new GrpcError(GrpcStatus.CANCELLED, 'the build was cancelled');
        const want = remaining > 0 ? Math.min(DATA_CHUNK, remaining) : DATA_CHUNK;
        const { frame, dataOffset } = framedDataPacket(id, want);
        const { bytesRead } = await handle.read(frame, dataOffset, want, null);
        if (bytesRead === 0) break;
        if (bytesRead === want) await stream.sendFramed(frame);
        else await stream.sendFramed(framedDataCopy(id, frame.subarray(dataOffset, dataOffset + bytesRead)));
        stats.bytesSent += bytesRead;
        remaining -= bytesRead;
      }
    } finally {
      await handle.close();
    }
  }
  stats.filesSent++;
  await stream.sendFramed(framedDataPacket(id, 0).frame);
}

/** Files under one chunk are read in one synchronous call: round trips, not bytes, dominate for them. */
async function sendSmallFile(abs: string, id: number, stream: PacketStream, stats: SendStats): Promise<void> {
  let fd: number | undefined;
  try {
    fd = openSync(abs, 'r');
  } catch {
    // Gone or unreadable since the walk: send it empty, as fsutil does.
  }
  if (fd !== undefined) {
    try {
      const { frame, dataOffset } = framedDataPacket(id, DATA_CHUNK);
      const n = readSync(fd, frame, dataOffset, DATA_CHUNK, null);
      if (n > 0) {
        await stream.sendFramed(framedDataCopy(id, frame.subarray(dataOffset, dataOffset + n)));
        stats.bytesSent += n;
      }
      // A file that grew past one chunk since the walk: send the rest too.
      if (n === DATA_CHUNK) {
        for (;;) {
          const next = framedDataPacket(id, DATA_CHUNK);
          const m = readSync(fd, next.frame, next.dataOffset, DATA_CHUNK, null);
          if (m === 0) break;
          await stream.sendFramed(m === DATA_CHUNK ? next.frame : framedDataCopy(id, next.frame.subarray(next.dataOffset, next.dataOffset + m)));
          stats.bytesSent += m;
        }
      }
    } finally {
      closeSync(fd);
    }
  }
  stats.filesSent++;
  await stream.sendFramed(framedDataPacket(id, 0).frame);
}

function framedDataCopy(id: number, data: Buffer): Buffer {
  const { frame, dataOffset } = framedDataPacket(id, data.length);
  frame.set(data, dataOffset);
  return frame;
}
