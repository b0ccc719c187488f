// The receiving side of DiffCopy (`hangar build -o DIR`): our own sender on
// the other end of an in-memory stream must reproduce a directory exactly
// (types, modes, contents, symlinks, hard links, file times), and whatever a
// builder sends must never write outside the destination.
import { chmodSync, linkSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, symlinkSync, utimesSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { FrameDecoder } from '../../src/buildkit/grpc.js';
import { decodeFsPacket, type FsPacket } from '../../src/buildkit/messages.js';
import { receiveDirectory, type ReceiveStream } from '../../src/buildkit/filesync/receive.js';
import { DATA_CHUNK, GoMode, sendDirectory } from '../../src/buildkit/filesync/send.js';
import { PacketType } from '../../src/buildkit/filesync/wire.js';

const root = mkdtempSync(path.join(tmpdir(), 'hangar-receive-'));
afterAll(() => {
  // Read-only directories from the trees must be writable to be removed.
  const unlock = (d: string): void => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      if (e.isDirectory()) {
        chmodSync(path.join(d, e.name), 0o755);
        unlock(path.join(d, e.name));
      }
    }
  };
  chmodSync(root, 0o755);
  unlock(root);
  rmSync(root, { recursive: true, force: true });
});
let n = 0;
const fresh = (name: string): string => path.join(root, `${name}-${n++}`);

/** An async queue: push values, iterate them until closed. */
function queue<T>(): { push(v: T): void; close(): void; iterable: AsyncIterable<T> } {
  const items: T[] = [];
  let closed = false;
  let wake: (() => void) | undefined;
  return {
    push(v) {
      items.push(v);
      wake?.();
    },
    close() {
      closed = true;
      wake?.();
    },
    iterable: {
      async *[Symbol.asyncIterator]() {
        for (;;) {
          while (items.length > 0) yield items.shift()!;
          if (closed) return;
          await new Promise<void>((r) => (wake = r));
          wake = undefined;
        }
      },
    },
  };
}

/** Our sender and the receiver, wired back to back as the builder's exporter and the session would be. */
async function copyTree(src: string, dest: string) {
  const toReceiver = queue<FsPacket>();
  const toSender = queue<FsPacket>();
  const decoder = new FrameDecoder();
  const sending = sendDirectory(src, {
    packets: toSender.iterable,
    sendFramed: async (framed) => {
      for (const m of decoder.push(framed)) toReceiver.push(decodeFsPacket(m));
    },
  }, {}).finally(() => toReceiver.close());
  const stream: ReceiveStream = {
    packets: toReceiver.iterable,
    send: async (p) => {
      toSender.push(p);
      if (p.type === PacketType.FIN || p.type === PacketType.ERR) toSender.close();
    },
  };
  const [sent, received] = await Promise.all([sending, receiveDirectory(dest, stream)]);
  return { sent, received };
}

interface Entry {
  kind: string;
  mode: number;
  data?: string;
  target?: string;
  mtimeMs?: number;
  ino?: number;
}

function snapshot(dir: string): Map<string, Entry> {
  const out = new Map<string, Entry>();
  const inodes = new Map<number, string>();
  const walk = (rel: string): void => {
    for (const name of readdirSync(path.join(dir, rel)).sort()) {
      const r = rel ? `${rel}/${name}` : name;
      const abs = path.join(dir, r);
      const st = lstatSync(abs);
      if (st.isDirectory()) {
        out.set(r, { kind: 'dir', mode: st.mode & 0o7777, mtimeMs: Math.floor(st.mtimeMs) });
        walk(r);
      } else if (st.isSymbolicLink()) {
        out.set(r, { kind: 'symlink', mode: 0, target: readlinkSync(abs) });
      } else {
        // Hard links: name the group by the first path seen with the inode.
        const first = inodes.get(st.ino) ?? r;
        inodes.set(st.ino, first);
        out.set(r, { kind: 'file', mode: st.mode & 0o7777, data: readFileSync(abs).toString('base64'), mtimeMs: Math.floor(st.mtimeMs), target: first });
      }
    }
  };
  walk('');
  return out;
}

const name = fc.stringMatching(/^[a-z0-9._-]{1,8}$/).filter((s) => s !== '.' && s !== '..');

describe('receiveDirectory', () => {
  it('reproduces a directory sent by the fsutil sender: types, modes, contents, links, times', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.uniqueArray(
          fc.record({
            dir: fc.constantFrom('', 'a', 'a/b', 'c'),
            name,
            kind: fc.constantFrom('file', 'file', 'file', 'symlink', 'hardlink', 'dir'),
            size: fc.oneof(fc.constant(0), fc.nat(100), fc.integer({ min: DATA_CHUNK - 2, max: DATA_CHUNK * 3 + 2 })),
            mode: fc.constantFrom(0o644, 0o600, 0o755, 0o4755, 0o2755, 0o444),
            mtime: fc.integer({ min: 1_000_000_000, max: 2_000_000_000 }),
          }),
          { maxLength: 14, selector: (e) => `${e.dir}/${e.name}` },
        ),
        async (entries) => {
          const src = fresh('src');
          for (const d of ['', 'a', 'a/b', 'c']) mkdirSync(path.join(src, d), { recursive: true });
          let firstFile: string | undefined;
          for (const [i, e] of entries.entries()) {
            const abs = path.join(src, e.dir, e.name);
            if (existsSync(abs)) continue;
            if (e.kind === 'dir') {
              mkdirSync(abs);
              writeFileSync(path.join(abs, 'inner'), `inner ${i}`);
              chmodSync(abs, e.mode === 0o444 ? 0o555 : e.mode & 0o777);
            } else if (e.kind === 'symlink') {
              symlinkSync(`../target-${i}`, abs);
            } else if (e.kind === 'hardlink' && firstFile) {
              linkSync(firstFile, abs);
            } else {
              const data = Buffer.alloc(e.size);
              for (let j = 0; j < e.size; j += 251) data[j] = (i * 7 + j) & 0xff;
              writeFileSync(abs, data);
              chmodSync(abs, e.mode);
              utimesSync(abs, e.mtime, e.mtime);
              firstFile ??= abs;
            }
          }
          const dest = fresh('dest');
          const { sent, received } = await copyTree(src, dest);
          expect(received.entries).toBe(sent.entries);
          expect(snapshot(dest)).toEqual(snapshot(src));
        },
      ),
      { numRuns: 25 },
    );
  });

  it('merges into an existing directory, replacing what is in the way without following links', async () => {
    const src = fresh('src');
    mkdirSync(path.join(src, 'etc'), { recursive: true });
    writeFileSync(path.join(src, 'etc', 'passwd'), 'from the result\n');
    writeFileSync(path.join(src, 'file'), 'a file\n');
    const outside = fresh('outside');
    mkdirSync(outside);
    const dest = fresh('dest');
    mkdirSync(dest);
    // The destination already has a symlink where the result has a directory, and a directory where it has a file.
    symlinkSync(outside, path.join(dest, 'etc'));
    mkdirSync(path.join(dest, 'file'));
    writeFileSync(path.join(dest, 'kept'), 'not in the result\n');
    await copyTree(src, dest);
    expect(readdirSync(outside)).toEqual([]);
    expect(lstatSync(path.join(dest, 'etc')).isDirectory()).toBe(true);
    expect(readFileSync(path.join(dest, 'etc', 'passwd'), 'utf8')).toBe('from the result\n');
    expect(readFileSync(path.join(dest, 'file'), 'utf8')).toBe('a file\n');
    expect(readFileSync(path.join(dest, 'kept'), 'utf8')).toBe('not in the result\n');
  });

  /** Feeds packets as a (hostile or broken) builder would; returns the error and what was sent back. */
  async function feed(packets: FsPacket[], dest = fresh('dest')) {
    const sentBack: FsPacket[] = [];
    const stream: ReceiveStream = {
      packets: {
        async *[Symbol.asyncIterator]() {
          for (const p of packets) yield p;
        },
      },
      send: async (p) => {
        sentBack.push(p);
      },
    };
    const err = await receiveDirectory(dest, stream).then(
      () => undefined,
      (e: unknown) => e as Error,
    );
    return { err, sentBack, dest };
  }

  const stat = (p: string, mode: number, extra: Partial<{ linkname: string; size: bigint }> = {}): FsPacket => ({
    type: PacketType.STAT,
    ID: 0,
    data: new Uint8Array(0),
    stat: { path: p, mode, uid: 0, gid: 0, size: extra.size ?? 0n, modTime: 1_700_000_000_000_000_000n, linkname: extra.linkname ?? '', devmajor: 0n, devminor: 0n },
  });
  const END: FsPacket = { type: PacketType.STAT, ID: 0, data: new Uint8Array(0) };

  it('refuses paths that leave the destination, and entries under a link', async () => {
    const outside = fresh('outside');
    mkdirSync(outside);
    const cases: [FsPacket[], RegExp][] = [
      [[stat('../escape', 0o644)], /not a plain relative path/],
      [[stat('/etc/passwd', 0o644)], /not a plain relative path/],
      [[stat('a/../b', 0o644)], /not a plain relative path/],
      [[stat('a/./b', 0o644)], /not a plain relative path/],
      [[stat('missing/child', 0o644)], /listed missing\/child before its directory/],
      [[stat('l', 0o777 | GoMode.symlink, { linkname: outside }), stat('l/x', 0o644)], /listed l\/x before its directory/],
      [[stat('f', 0o644), stat('f/x', 0o644)], /listed f\/x before its directory/],
      [[stat('h', 0o644, { linkname: 'nothing' })], /hard link h to "nothing", which it did not list before/],
      [[stat('sock', 0o600 | GoMode.socket)], /holds sock, a socket, which a directory export cannot write; export it with --output type=tar instead/],
      [[stat('f', 0o644), END, { type: PacketType.DATA, ID: 7, data: Buffer.from('x') }], /data for file 7, which was not asked for/],
      [[stat('f', 0o644)], /closed the export stream before it was finished/],
      [[stat('f', 0o644), END, { type: PacketType.FIN, ID: 0, data: new Uint8Array(0) }], /ended the export before every file was received/],
      [[END, stat('late', 0o644)], /entry after the end of its listing/],
      [[{ type: PacketType.ERR, ID: 0, data: Buffer.from('disk full') }], /could not send the result: disk full/],
    ];
    for (const [packets, re] of cases) {
      const { err, sentBack } = await feed(packets);
      expect(err?.message, JSON.stringify(packets.map((p) => p.stat?.path ?? p.type))).toMatch(re);
      // The sender is told why; after our FIN (an empty listing) there is nothing more to tell it.
      expect(sentBack.at(-1)?.type).toBe(packets[0] === END ? PacketType.FIN : PacketType.ERR);
    }
    expect(readdirSync(outside)).toEqual([]);
  });

  it('makes device nodes (as root) and FIFOs as docker does', async () => {
    const dev = { ...stat('console', 0o620 | GoMode.device | GoMode.charDevice), stat: { ...stat('console', 0o620 | GoMode.device | GoMode.charDevice).stat!, devmajor: 5n, devminor: 1n } };
    const { err, dest } = await feed([stat('fifo', 0o640 | GoMode.namedPipe), dev, END, { type: PacketType.FIN, ID: 0, data: new Uint8Array(0) }]);
    if (process.getuid?.() !== 0) {
      expect(err?.message).toMatch(/holds console, a device node, which could not be created in the directory \(that needs root\)/);
      return;
    }
    expect(err).toBeUndefined();
    const fifo = lstatSync(path.join(dest, 'fifo'));
    expect(fifo.isFIFO()).toBe(true);
    expect(fifo.mode & 0o777).toBe(0o640);
    const node = lstatSync(path.join(dest, 'console'));
    expect(node.isCharacterDevice()).toBe(true);
    expect([Math.floor(node.rdev / 256), node.rdev % 256]).toEqual([5, 1]);
    expect(node.mode & 0o777).toBe(0o620);
  });

  it('asks for each regular file by the index of its STAT, and sends FIN once all are written', async () => {
    const packets: FsPacket[] = [
      stat('d', 0o755 | GoMode.dir),
      stat('d/a', 0o640),
      stat('d/l', 0o777 | GoMode.symlink, { linkname: 'a' }),
      stat('d/b', 0o600),
      stat('d/h', 0o640, { linkname: 'd/a' }),
      END,
      { type: PacketType.DATA, ID: 3, data: Buffer.from('bee') },
      { type: PacketType.DATA, ID: 1, data: Buffer.from('ay') },
      { type: PacketType.DATA, ID: 3, data: new Uint8Array(0) },
      { type: PacketType.DATA, ID: 1, data: new Uint8Array(0) },
      { type: PacketType.FIN, ID: 0, data: new Uint8Array(0) },
    ];
    const { err, sentBack, dest } = await feed(packets);
    expect(err).toBeUndefined();
    expect(sentBack.map((p) => [p.type, p.ID])).toEqual([
      [PacketType.REQ, 1],
      [PacketType.REQ, 3],
      [PacketType.FIN, 0],
    ]);
    expect(readFileSync(path.join(dest, 'd', 'h'), 'utf8')).toBe('ay');
    expect(lstatSync(path.join(dest, 'd', 'h')).ino).toBe(lstatSync(path.join(dest, 'd', 'a')).ino);
    expect(lstatSync(path.join(dest, 'd', 'a')).mode & 0o777).toBe(0o640);
    expect(lstatSync(path.join(dest, 'd', 'a')).mtimeMs).toBe(1_700_000_000_000);
  });
});
