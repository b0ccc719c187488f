// The sending side of fsutil's DiffCopy packet protocol, for one local
// directory: walk it (depth first, names in byte order, filtered by the
// include/exclude patterns and follow paths BuildKit asks for), send one STAT
// per entry and an empty STAT, answer each REQ with the file's contents in
// 32 KiB DATA packets and an empty DATA, and a FIN with a FIN. While BuildKit
// is asking for files, the listing is kept close behind its requests (see
// STAT_LEAD), so contents flow while it creates the files.
// BuildKit compares the stats with what it already has and only asks for
// files that changed, so a no-op rebuild sends no contents.
//
// Must never: read outside the directory (symlinks are sent as links, not
// followed, unless named in followpaths), or hold more than one chunk of a
// file in memory.
import { closeSync, lstatSync, openSync, readdirSync, readlinkSync, readSync, type BigIntStats } from 'node:fs';
import { open, realpath, stat as statFile, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import type { FsPacket } from '../messages.js';
import { GrpcError, GrpcStatus } from '../grpc.js';
import { PatternMatcher } from './dockerignore.js';
import { BufferPool, dataFrameSize, encodeControlPacket, encodeStatPacket, framedDataPacket, int64Halves, int64Of, newWireStat, PacketBatcher, PacketType, type StatFields, type WireStat } from './wire.js';

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
  /** Milliseconds from the builder's request to the end of the listing, and to FIN. */
  listedMs?: number;
  /** Files already sent when the listing ended (most of a paced cold sync; next to none when contents wait behind the listing). */
  sentWhileListing?: number;
  totalMs?: number;
}

/** The two directions of a DiffCopy stream, as the session gives them. */
export interface PacketStream {
  packets: AsyncIterable<FsPacket>;
  /**
   * Sends packets already framed for gRPC (possibly several in one buffer);
   * resolves when more may be sent, and calls `written` once the buffer has
   * been written out (not before: it is reused then).
   */
  sendFramed(framed: Buffer, written?: () => void): Promise<void>;
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
  const walk = await ContextWalk.open(root, filter);
  const w = newWireStat();
  while (walk.next()) {
    walk.fill(w);
    const stat: StatFields = {
      path: w.path,
      mode: w.mode,
      uid: w.uid,
      gid: w.gid,
      size: int64Of(w.sizeLo, w.sizeHi),
      modTime: int64Of(w.mtimeLo, w.mtimeHi),
      linkname: w.linkname,
      devmajor: int64Of(w.devmajorLo, w.devmajorHi),
      devminor: int64Of(w.devminorLo, w.devminorHi),
    };
    yield { rel: walk.rel, abs: walk.abs, stat };
  }
}

interface DirFrame {
  names: string[];
  next: number;
  absPrefix: string;
  relPrefix: string;
}

/**
 * A depth-first walk held as an explicit stack, one entry per next(): the
 * current entry is in `rel`, `abs` and `st`, and fill() turns it into wire
 * fields. No object per entry beyond what lstat returns: a listing is tens of
 * thousands of entries, and in a short-lived process the walk runs mostly
 * before the JIT has warmed up, so every allocation and call shows.
 *
 * The walk is synchronous: readdir and lstat take microseconds on a warm
 * tree, where a thread-pool round trip per entry made large trees several
 * times slower to announce. The caller yields to the event loop whenever the
 * stream pushes back.
 */
class ContextWalk {
  rel = '';
  abs = '';
  st: BigIntStats | undefined;
  readonly #stack: DirFrame[] = [];
  readonly #excludes: PatternMatcher | undefined;
  readonly #includes: string[] | undefined;
  readonly #seenInodes = new Map<string, string>();
  #lastIncludedDir = '';

  private constructor(root: string, excludes: PatternMatcher | undefined, includes: string[] | undefined) {
    this.#excludes = excludes;
    this.#includes = includes;
    this.#push(root, '');
  }

  static async open(root: string, filter: WalkFilter): Promise<ContextWalk> {
    const rootStat = await statFile(root);
    if (!rootStat.isDirectory()) throw new GrpcError(GrpcStatus.INVALID_ARGUMENT, `${root} is not a directory`);
    const excludes = filter.excludePatterns && filter.excludePatterns.length > 0 ? new PatternMatcher(filter.excludePatterns) : undefined;
    let includes = filter.includePatterns && filter.includePatterns.length > 0 ? filter.includePatterns.map((p) => path.posix.normalize(p)) : undefined;
    if (filter.followPaths && filter.followPaths.length > 0) {
      includes = [...new Set([...(includes ?? []), ...(await followTargets(root, filter.followPaths))])];
    }
    return new ContextWalk(root, excludes, includes);
  }

  #push(dirAbs: string, dirRel: string): void {
    const names = readdirSync(dirAbs);
    sortNames(names);
    this.#stack.push({
      names,
      next: 0,
      absPrefix: dirAbs.endsWith('/') ? dirAbs : `${dirAbs}/`,
      relPrefix: dirRel === '' ? '' : `${dirRel}/`,
    });
  }

  /** Moves to the next entry to announce; false when the walk is over. */
  next(): boolean {
    const stack = this.#stack;
    for (;;) {
      const top = stack[stack.length - 1];
      if (top === undefined) return false;
      if (top.next >= top.names.length) {
        stack.pop();
        continue;
      }
      const name = top.names[top.next++]!;
      const rel = top.relPrefix + name;
      const abs = top.absPrefix + name;
      // Gone since the listing: not sent.
      const st = lstatSync(abs, LSTAT_OPTIONS);
      if (st === undefined) continue;
      const isDir = st.isDirectory();
      if (this.#includes !== undefined && !this.#included(rel, isDir)) continue;
      const excludes = this.#excludes;
      if (excludes !== undefined && excludes.matches(rel)) {
        if (!isDir) continue;
        // Descend only when a `!` pattern may re-include something below.
        const prefix = `${rel}/`;
        if (!excludes.patterns.some((p) => p.exclusion && `${p.text}/`.startsWith(prefix))) continue;
      }
      this.rel = rel;
      this.abs = abs;
      this.st = st;
      if (isDir) this.#push(abs, rel);
      return true;
    }
  }

  #included(rel: string, isDir: boolean): boolean {
    if (this.#lastIncludedDir !== '' && rel.startsWith(`${this.#lastIncludedDir}/`)) return true;
    let matched = false;
    let partial = true;
    for (const p of this.#includes!) {
      const r = matchPrefix(p, rel);
      if (r.matched) {
        matched = true;
        if (!r.partial) {
          partial = false;
          break;
        }
      }
    }
    if (matched && !partial && isDir) this.#lastIncludedDir = rel;
    return matched;
  }

  /** Puts the current entry's stat into `w` as fsutil sends it. */
  fill(w: WireStat): void {
    const st = this.st!;
    const mode = Number(st.mode);
    w.path = this.rel;
    w.mode = goFileMode(mode);
    w.uid = Number(st.uid);
    w.gid = Number(st.gid);
    const t = st.mtimeNs;
    if (t >= 0n) {
      w.mtimeHi = Number(t >> 32n);
      w.mtimeLo = Number(t & 0xffff_ffffn);
    } else [w.mtimeLo, w.mtimeHi] = int64Halves(t);
    w.sizeLo = 0;
    w.sizeHi = 0;
    w.linkname = '';
    w.devmajorLo = w.devmajorHi = w.devminorLo = w.devminorHi = 0;
    const type = mode & 0o170000;
    if (type === 0o040000) return;
    [w.sizeLo, w.sizeHi] = int64Halves(st.size);
    if (type === 0o120000) w.linkname = readlinkSync(this.abs);
    else if (type === 0o060000 || type === 0o020000) {
      const rdev = Number(st.rdev);
      w.devmajorLo = Math.floor(rdev / 256) & 0xfff;
      w.devminorLo = (rdev & 0xff) | (Math.floor(rdev / 4096) & 0xfff00);
    }
    if (st.nlink > 1n && type !== 0o120000) {
      // A second name for the same inode is sent as a hard link to the first.
      const key = `${st.dev}:${st.ino}`;
      const first = this.#seenInodes.get(key);
      if (first !== undefined) {
        w.linkname = first;
        w.sizeLo = 0;
        w.sizeHi = 0;
      } else this.#seenInodes.set(key, this.rel);
    }
  }
}

/**
 * How far the listing may run ahead of the files BuildKit has asked for.
 *
 * BuildKit's receiver (fsutil) reads the stream in one loop: it hands each
 * STAT to the goroutine that creates the files, through a queue of 128, and
 * writes each DATA packet to its file. Sent all at once, the listing fills
 * that queue and the loop waits on it with every DATA packet stuck behind
 * the STATs still in the stream, so the files are all created first and
 * filled after: on a cold 20,000-file context, 1.8 s then 1.4 s. A REQ for
 * entry i means the creating goroutine has reached i. Once requests come
 * (a cold sync), the listing waits whenever it is STAT_LEAD entries ahead of
 * the highest index requested, until it is STAT_RESUME ahead; the queue then
 * never stays full and contents flow while files are created (2.5-2.7 s).
 *
 * An incremental sync asks only for what changed, so the pacing starts only
 * with the first request and ends for the sync when a wait sees neither a
 * request nor a file sent for 50 ms (5 ms while fewer than 64 files have
 * been asked for: one changed file costs little).
 *
 * The lead is worth ~20 ms of the receiver's work, so a request has to come
 * back well within that: the session paces only a builder on this machine
 * (a unix socket or loopback); over a network the listing goes as fast as
 * the stream takes it, as before.
 */
const STAT_LEAD = 256;
const STAT_RESUME = 160;

export interface PaceOptions {
  lead: number;
  resume: number;
  /** Requests seen before the full patience applies. */
  denseRequests: number;
  shortPatienceMs: number;
  patienceMs: number;
}

const PACE_DEFAULTS: PaceOptions = { lead: STAT_LEAD, resume: STAT_RESUME, denseRequests: 64, shortPatienceMs: 5, patienceMs: 50 };

/** The pacing of one listing (see STAT_LEAD); single-threaded, driven by the walker, the reader and the workers. */
export class ListingPace {
  readonly #o: PaceOptions;
  #maxRequested = -1;
  #requests = 0;
  /** Bumped by every request and every file sent: a wait with none ends the pacing. */
  #progress = 0;
  #state: 'idle' | 'on' | 'off' = 'idle';
  #waitingAt = 0;
  #wake: (() => void) | undefined;

  constructor(options: Partial<PaceOptions> = {}) {
    this.#o = { ...PACE_DEFAULTS, ...options };
  }

  /** True when the entry with this index must wait before it is listed. */
  mustWait(index: number): boolean {
    return this.#state === 'on' && index - this.#maxRequested > this.#o.lead;
  }

  /** Waits until entry `index` may be listed, or the pacing has ended. */
  async wait(index: number): Promise<void> {
    this.#waitingAt = index;
    for (;;) {
      const seen = this.#progress;
      const patience = this.#requests < this.#o.denseRequests ? this.#o.shortPatienceMs : this.#o.patienceMs;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(() => {
          this.#wake = undefined;
          resolve();
        }, patience);
        this.#wake = () => {
          clearTimeout(timer);
          this.#wake = undefined;
          resolve();
        };
      });
      if (this.#state !== 'on' || index - this.#maxRequested <= this.#o.resume) return;
      if (this.#progress === seen) {
        this.#state = 'off';
        return;
      }
    }
  }

  /** BuildKit asked for the file with this entry index. */
  requested(id: number): void {
    if (id > this.#maxRequested) this.#maxRequested = id;
    this.#requests++;
    this.#progress++;
    if (this.#state === 'idle') this.#state = 'on';
    if (this.#wake && this.#waitingAt - this.#maxRequested <= this.#o.resume) this.#wake();
  }

  /** A requested file has been sent. */
  progressed(): void {
    this.#progress++;
  }

  /** The sync is over (FIN, failure): nothing waits any more. */
  release(): void {
    this.#state = 'off';
    this.#wake?.();
  }

  /** For tests and traces: 'idle' until the first request, 'on', or 'off' once ended. */
  get state(): 'idle' | 'on' | 'off' {
    return this.#state;
  }
}

const LSTAT_OPTIONS = { bigint: true, throwIfNoEntry: false } as const;

/**
 * Serves one DiffCopy call for `root`. Resolves when the receiver has sent
 * FIN (answered with FIN); rejects on an ERR packet or a failed read.
 */
export async function sendDirectory(root: string, stream: PacketStream, filter: WalkFilter, signal?: AbortSignal, pace?: ListingPace): Promise<SendStats> {
  const stats: SendStats = { entries: 0, filesSent: 0, bytesSent: 0 };
  const started = performance.now();
  const out = new PacketBatcher((framed, written) => stream.sendFramed(framed, written));
  // Chunk frames of large files, reused once written (see BufferPool).
  const frames = new BufferPool(dataFrameSize(DATA_CHUNK), 2 * FILE_WORKERS * CHUNKS_PER_READ);
  // By file id: the path of each regular file BuildKit may ask for ('' for other entries) and its size.
  const fileAbs: string[] = [];
  const fileSize: number[] = [];
  const requests: number[] = [];
  const waiters: (() => void)[] = [];
  let finished = false;
  let walkDone = false;
  let failure: unknown;
  const notify = (): void => {
    for (const w of waiters.splice(0)) w();
  };

  const walker = (async () => {
    const walk = await ContextWalk.open(root, filter);
    const w = newWireStat();
    while (walk.next()) {
      if (signal?.aborted || finished) return;
      if (pace && pace.mustWait(stats.entries)) {
        await pace.wait(stats.entries);
        if (signal?.aborted || finished) return;
      }
      walk.fill(w);
      if (w.linkname === '' && isRegular(w.mode)) {
        fileAbs.push(walk.abs);
        fileSize.push(w.sizeHi * 0x1_0000_0000 + w.sizeLo);
      } else {
        fileAbs.push('');
        fileSize.push(0);
      }
      stats.entries++;
      const wait = out.pushStat(w);
      if (wait) await wait;
    }
    await out.push(encodeStatPacket(undefined));
    stats.listedMs = Math.round(performance.now() - started);
    stats.sentWhileListing = stats.filesSent;
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
      if (p.type === PacketType.REQ) {
        pace?.requested(p.ID);
        requests.push(p.ID);
        notify();
      } else if (p.type === PacketType.FIN) {
        break;
      } else if (p.type === PacketType.ERR) {
        throw new GrpcError(GrpcStatus.ABORTED, `the builder could not receive the files: ${Buffer.from(p.data).toString()}`);
      }
    }
  })()
    .catch((err: unknown) => {
      failure = err;
    })
    // FIN, the end of the stream or a failure: the workers stop and a waiting listing goes on.
    .finally(() => {
      finished = true;
      notify();
      pace?.release();
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
      const abs = fileAbs[id];
      if (abs === undefined || abs === '') throw new GrpcError(GrpcStatus.INVALID_ARGUMENT, `the builder asked for unknown file id ${id}`);
      fileAbs[id] = '';
      if (fileSize[id]! < DATA_CHUNK) await sendSmallFile(abs, id, out, stats);
      else await sendFile(abs, id, out, frames, stats, signal);
      pace?.progressed();
    }
  };
  await Promise.all(Array.from({ length: FILE_WORKERS }, worker));
  await Promise.all([walker, reader]);
  if (failure) throw failure;
  if (!walkDone) throw new GrpcError(GrpcStatus.CANCELLED, 'the file sync ended before the directory was walked');
  await out.push(encodeControlPacket(PacketType.FIN));
  await out.flush();
  stats.totalMs = Math.round(performance.now() - started);
  return stats;
}

async function sendFile(abs: string, id: number, out: PacketBatcher, pool: BufferPool, stats: SendStats, signal?: AbortSignal): Promise<void> {
  const handle = await open(abs, 'r').catch(() => undefined);
  if (handle) {
    try {
      await sendChunks(handle, id, out, pool, stats, signal);
    } finally {
      await handle.close();
    }
  }
  stats.filesSent++;
  await out.pushData(id, NO_DATA);
}

/**
 * Reads up to CHUNKS_PER_READ chunks with one readv straight into their
 * packets' frames; a file that changed size since the walk is sent as read.
 */
async function sendChunks(handle: FileHandle, id: number, out: PacketBatcher, pool: BufferPool, stats: SendStats, signal?: AbortSignal): Promise<void> {
  const { size } = await handle.stat();
  let remaining = size;
  for (;;) {
    if (signal?.aborted) throw new GrpcError(GrpcStatus.CANCELLED, 'the build was cancelled');
    const frames: { space: Buffer; frame: Buffer; dataOffset: number; want: number }[] = [];
    let left = remaining > 0 ? remaining : DATA_CHUNK;
    for (let i = 0; i < CHUNKS_PER_READ && left > 0; i++) {
      const want = Math.min(DATA_CHUNK, left);
      const space = pool.take();
      frames.push({ space, ...framedDataPacket(id, want, space), want });
      left -= want;
    }
    let bytesRead: number;
    try {
      ({ bytesRead } = await handle.readv(frames.map((f) => f.frame.subarray(f.dataOffset, f.dataOffset + f.want))));
    } catch (err) {
      for (const f of frames) pool.give(f.space);
      throw err;
    }
    let got = bytesRead;
    for (const f of frames) {
      const n = Math.min(Math.max(got, 0), f.want);
      got -= n;
      if (n === 0) {
        pool.give(f.space);
        continue;
      }
      // A whole chunk goes out as read, its buffer back in the pool once written; a short one is copied.
      let wait: Promise<void> | undefined;
      if (n === f.want) wait = out.push(f.frame, () => pool.give(f.space));
      else {
        wait = out.pushData(id, f.frame.subarray(f.dataOffset, f.dataOffset + n));
        pool.give(f.space);
      }
      if (wait) await wait;
    }
    if (bytesRead === 0) break;
    stats.bytesSent += bytesRead;
    remaining -= bytesRead;
  }
}

const smallReadScratch = Buffer.allocUnsafe(DATA_CHUNK);
/** The empty DATA that ends a file. */
const NO_DATA = Buffer.alloc(0);

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
        const wait = out.pushData(id, smallReadScratch.subarray(0, n));
        stats.bytesSent += n;
        if (wait) await wait;
        if (n < DATA_CHUNK) break;
      }
    } finally {
      closeSync(fd);
    }
  }
  stats.filesSent++;
  const wait = out.pushData(id, NO_DATA);
  if (wait) await wait;
}
