// The hand-written fsutil packet encoders must produce exactly protobuf-es's
// bytes, and the batcher must keep packet order while bounding what it holds.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { create, fromBinary, toBinary } from '@bufbuild/protobuf';
import { PacketSchema, Packet_PacketType } from '../../src/buildkit/gen/fsutil/wire_pb.js';
import { StatSchema } from '../../src/buildkit/gen/fsutil/stat_pb.js';
import { encodeControlPacket, encodeStatPacket, framedDataPacket, PacketBatcher, PacketType, type StatFields } from '../../src/buildkit/filesync/wire.js';

const int64 = fc.oneof(fc.constant(0n), fc.bigInt({ min: 0n, max: 1n << 40n }), fc.bigInt({ min: -(1n << 63n), max: (1n << 63n) - 1n }));
const uint32 = fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 0x7f }), fc.integer({ min: 0, max: 0xffff_ffff }));
const name = fc.oneof(fc.constant(''), fc.string({ unit: 'grapheme', maxLength: 40 }), fc.string({ unit: 'binary', maxLength: 20 }), fc.string({ minLength: 100, maxLength: 300 }));

const statArb: fc.Arbitrary<StatFields> = fc.record({
  path: name,
  mode: uint32,
  uid: uint32,
  gid: uint32,
  size: int64,
  modTime: int64,
  linkname: name,
  devmajor: int64,
  devminor: int64,
});

function unframe(framed: Buffer): Buffer {
  expect(framed[0]).toBe(0);
  expect(framed.readUInt32BE(1)).toBe(framed.length - 5);
  return framed.subarray(5);
}

describe('fsutil packet encoding', () => {
  it('encodes STAT packets byte for byte as toBinary does', () => {
    fc.assert(
      fc.property(statArb, (stat) => {
        const expected = toBinary(PacketSchema, create(PacketSchema, { type: Packet_PacketType.PACKET_STAT, stat: create(StatSchema, stat) }));
        expect(Buffer.from(unframe(encodeStatPacket(stat)))).toEqual(Buffer.from(expected));
      }),
      { numRuns: 2000 },
    );
  });

  it('encodes a typical file stat that decodes back to the same fields', () => {
    const stat: StatFields = { path: 'pkg1/mod2/file3.dat', mode: 0o644, uid: 1000, gid: 1000, size: 4321n, modTime: 1_764_355_200_123_456_789n, linkname: '', devmajor: 0n, devminor: 0n };
    const back = fromBinary(PacketSchema, unframe(encodeStatPacket(stat)));
    expect(back.type).toBe(Packet_PacketType.PACKET_STAT);
    expect(back.stat).toMatchObject(stat);
  });

  it('encodes the empty STAT, FIN, ERR and DATA packets as toBinary does', () => {
    expect(unframe(encodeStatPacket(undefined)).length).toBe(0);
    expect(Buffer.from(unframe(encodeControlPacket(PacketType.FIN)))).toEqual(Buffer.from(toBinary(PacketSchema, create(PacketSchema, { type: Packet_PacketType.PACKET_FIN }))));
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (data) => {
        const expected = toBinary(PacketSchema, create(PacketSchema, { type: Packet_PacketType.PACKET_ERR, data }));
        expect(Buffer.from(unframe(encodeControlPacket(PacketType.ERR, data)))).toEqual(Buffer.from(expected));
      }),
      { numRuns: 200 },
    );
    fc.assert(
      fc.property(fc.nat(), fc.uint8Array({ maxLength: 40_000 }), (id, data) => {
        const { frame, dataOffset } = framedDataPacket(id, data.length);
        frame.set(data, dataOffset);
        const expected = toBinary(PacketSchema, create(PacketSchema, { type: Packet_PacketType.PACKET_DATA, ID: id, data }));
        expect(Buffer.from(unframe(frame))).toEqual(Buffer.from(expected));
      }),
      { numRuns: 200 },
    );
  });
});

describe('packet batching', () => {
  it('writes packets in the order pushed, in fewer writes, and waits for a slow stream', async () => {
    const writes: Buffer[] = [];
    let accepted = 0;
    let maxUnaccepted = 0;
    let pushed = 0;
    const sink = async (b: Buffer): Promise<void> => {
      writes.push(b);
      await new Promise((r) => setImmediate(r));
      accepted += b.length;
    };
    const out = new PacketBatcher(sink);
    const expected: Buffer[] = [];
    for (let i = 0; i < 5000; i++) {
      // Mostly small packets, now and then a large one that bypasses the batch.
      const p = i % 997 === 0 ? framedDataPacket(i, 32 * 1024).frame.fill(7, 12) : encodeStatPacket({ path: `f${i}`, mode: 0o644, uid: 0, gid: 0, size: BigInt(i), modTime: 1n, linkname: '', devmajor: 0n, devminor: 0n });
      expected.push(p);
      pushed += p.length;
      const wait = out.push(p);
      if (wait) await wait;
      maxUnaccepted = Math.max(maxUnaccepted, pushed - accepted);
    }
    await out.flush();
    expect(Buffer.concat(writes)).toEqual(Buffer.concat(expected));
    expect(writes.length).toBeLessThan(100);
    expect(maxUnaccepted).toBeLessThan(3 * 64 * 1024);
  });

  it('fails later pushes once the stream failed', async () => {
    const out = new PacketBatcher(() => Promise.reject(new Error('closed')));
    await expect(out.push(framedDataPacket(1, 20_000).frame)).rejects.toThrow('closed');
    await expect(Promise.resolve(out.push(encodeControlPacket(PacketType.FIN)))).rejects.toThrow('closed');
  });
});
