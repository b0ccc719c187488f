// The sender against a local receiver: every file's bytes arrive intact and
// in order however the packets were batched, the listing matches the walk,
// and a no-op sync sends no contents.
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fromBinary } from '@bufbuild/protobuf';
import { PacketSchema, Packet_PacketType as T } from '../../src/buildkit/gen/fsutil/wire_pb.js';
import { DATA_CHUNK, sendDirectory, walkDirectory, type PacketStream } from '../../src/buildkit/filesync/send.js';
import { packetsToSender } from './helpers.js';

let dir: string;
const contents = new Map<string, Buffer>();

beforeAll(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'hangar-send-'));
  for (let i = 0; i < 600; i++) {
    const rel = `d${i % 7}/f${i}`;
    mkdirSync(path.join(dir, `d${i % 7}`), { recursive: true });
    // Sizes around the chunk and read-batch boundaries, and many tiny files.
    const size = i % 50 === 0 ? DATA_CHUNK * (i % 11) + (i % 3) : i % 97;
    const data = randomBytes(size);
    if (size >= 4) data.writeUInt32BE(i, 0);
    writeFileSync(path.join(dir, rel), data);
    contents.set(rel, data);
  }
  const big = Buffer.alloc(DATA_CHUNK * 17 + 5);
  for (let i = 0; i < big.length; i += 4096) big.writeUInt32BE(i, i);
  writeFileSync(path.join(dir, 'big'), big);
  contents.set('big', big);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A receiver that asks for every regular file (or none) and records what it got. */
async function receive(requestFiles: boolean, lateWrites = false) {
  const { send: toSender, packets: fromReceiver } = packetsToSender();
  const listing: string[] = [];
  const byId: string[] = [];
  const received = new Map<string, Buffer[]>();
  let open = 0;
  let writes = 0;
  let packets = 0;
  const stream: PacketStream = {
    packets: fromReceiver,
    sendFramed: async (framed, written) => {
      writes++;
      if (!lateWrites) {
        deliver(framed);
        written?.();
        await new Promise((r) => setImmediate(r));
        return;
      }
      // Like a socket: the bytes are read when the write happens, a few writes later.
      socket.push({ framed, written });
      if (socket.length === 1) setImmediate(pump);
      if (socket.length > 8) await new Promise<void>((r) => (socketRoom = r));
    },
  };
  let socketRoom: (() => void) | undefined;
  const socket: { framed: Buffer; written?: () => void }[] = [];
  const pump = (): void => {
    const w = socket.shift();
    if (!w) return;
    deliver(w.framed);
    w.written?.();
    if (socket.length <= 8) socketRoom?.();
    if (socket.length > 0) setTimeout(pump, w.framed.length % 3);
  };
  const deliver = (framed: Buffer): void => {
      for (let o = 0; o < framed.length; ) {
        const n = framed.readUInt32BE(o + 1);
        const p = fromBinary(PacketSchema, framed.subarray(o + 5, o + 5 + n));
        o += 5 + n;
        packets++;
        if (p.type === T.PACKET_STAT) {
          if (!p.stat) {
            const files = byId.map((rel, id) => ({ rel, id })).filter((f) => contents.has(f.rel));
            if (!requestFiles || files.length === 0) toSender({ type: T.PACKET_FIN });
            for (const f of requestFiles ? files : []) {
              open++;
              received.set(f.rel, []);
              toSender({ type: T.PACKET_REQ, ID: f.id });
            }
            continue;
          }
          listing.push(p.stat.path);
          byId.push(p.stat.path);
        } else if (p.type === T.PACKET_DATA) {
          const rel = byId[p.ID]!;
          if (p.data.length > 0) received.get(rel)!.push(Buffer.from(p.data));
          else if (--open === 0) toSender({ type: T.PACKET_FIN });
        }
      }
  };
  const stats = await sendDirectory(dir, stream, {});
  return { stats, listing, received, writes, packets };
}

describe('sending a directory', () => {
  it('delivers every requested file intact, in far fewer writes than packets', async () => {
    const r = await receive(true);
    const walked: string[] = [];
    for await (const e of walkDirectory(dir)) walked.push(e.rel);
    expect(r.listing).toEqual(walked);
    expect(r.received.size).toBe(contents.size);
    for (const [rel, data] of contents) expect(Buffer.concat(r.received.get(rel)!).equals(data), rel).toBe(true);
    expect(r.stats.filesSent).toBe(contents.size);
    expect(r.stats.bytesSent).toBe([...contents.values()].reduce((n, b) => n + b.length, 0));
    expect(r.writes).toBeLessThan(r.packets / 3);
  });

  it('reuses no buffer before its write is done', async () => {
    // The receiver reads each buffer only when it is "written", some writes
    // after it was handed over: a buffer refilled before then would arrive
    // with another chunk's bytes.
    const r = await receive(true, true);
    expect(r.received.size).toBe(contents.size);
    for (const [rel, data] of contents) expect(Buffer.concat(r.received.get(rel)!).equals(data), rel).toBe(true);
  });

  it('sends no contents when the receiver already has everything', async () => {
    const r = await receive(false);
    expect(r.stats).toMatchObject({ filesSent: 0, bytesSent: 0 });
    expect(r.listing.length).toBe(contents.size + 7);
  });
});
