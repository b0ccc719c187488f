// The listing's pacing: the sender keeps its STATs close behind the files
// BuildKit has asked for, so contents flow while the files are being
// created, and it stops pacing when nothing is being asked for.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { fromBinary } from '@bufbuild/protobuf';
import { PacketSchema, Packet_PacketType as T, type Packet } from '../../src/buildkit/gen/fsutil/wire_pb.js';
import { ListingPace, sendDirectory, type PacketStream } from '../../src/buildkit/filesync/send.js';
import { packetsToSender } from './helpers.js';

/** A pace with a small lead, to step through by hand. */
const smallPace = (): ListingPace => new ListingPace({ lead: 10, resume: 5, denseRequests: 64, shortPatienceMs: 5, patienceMs: 50 });

describe('ListingPace', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('lets everything through until the first request', () => {
    const pace = smallPace();
    expect(pace.state).toBe('idle');
    expect(pace.mustWait(1_000_000)).toBe(false);
    pace.requested(3);
    expect(pace.state).toBe('on');
    expect(pace.mustWait(13)).toBe(false);
    expect(pace.mustWait(14)).toBe(true);
  });

  it('waits until the lead is down to the resume point, not before', async () => {
    vi.useFakeTimers();
    const pace = smallPace();
    pace.requested(0);
    let done = false;
    const waiting = pace.wait(11).then(() => (done = true));
    pace.requested(3); // lead 8: still waiting
    await vi.advanceTimersByTimeAsync(1);
    expect(done).toBe(false);
    pace.requested(6); // lead 5: go
    await vi.advanceTimersByTimeAsync(0);
    expect(done).toBe(true);
    await waiting;
    expect(pace.state).toBe('on');
  });

  it('ends the pacing when a wait sees neither a request nor a file sent', async () => {
    vi.useFakeTimers();
    const pace = smallPace();
    pace.requested(0);
    const waiting = pace.wait(20);
    await vi.advanceTimersByTimeAsync(100);
    await waiting;
    expect(pace.state).toBe('off');
    expect(pace.mustWait(1_000_000)).toBe(false);
  });

  it('keeps waiting while files are still being sent, with more patience once requests are dense', async () => {
    vi.useFakeTimers();
    const pace = smallPace();
    for (let i = 0; i < 100; i++) pace.requested(i);
    let done = false;
    const waiting = pace.wait(200).then(() => (done = true));
    for (let t = 0; t < 10; t++) {
      await vi.advanceTimersByTimeAsync(20);
      pace.progressed();
    }
    expect(done).toBe(false);
    expect(pace.state).toBe('on');
    // 45 ms without anything: still within the patience for dense requests.
    await vi.advanceTimersByTimeAsync(45);
    expect(done).toBe(false);
    await vi.advanceTimersByTimeAsync(200);
    await waiting;
    expect(pace.state).toBe('off');
  });

  it('is released by the end of the sync', async () => {
    vi.useFakeTimers();
    const pace = smallPace();
    pace.requested(0);
    const waiting = pace.wait(50);
    pace.release();
    await waiting;
    expect(pace.state).toBe('off');
    expect(vi.getTimerCount()).toBe(0);
  });
});

// A receiver modelled on fsutil's: one loop reads the stream in order,
// hands each STAT to a creating task through a queue of 128 (waiting when
// it is full) and takes each DATA packet; the creating task takes one entry
// per turn of the event loop and asks for a regular file once it has
// "created" it. The stream holds at most `window` bytes not yet read, like
// HTTP/2's flow control.
let dir: string;
const FILES = 20_000;

beforeAll(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'hangar-pace-'));
  for (let i = 0; i < FILES; i++) {
    mkdirSync(path.join(dir, `d${i % 200}`), { recursive: true });
    writeFileSync(path.join(dir, `d${i % 200}`, `f${i}`), `file ${i}\n`.repeat(i % 5));
  }
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function modelReceive(wants: (index: number) => boolean, pace?: ListingPace, window = 256 * 1024) {
  const { send, packets } = packetsToSender();
  const inbox: Packet[] = [];
  const inboxBytes: number[] = [];
  let unread = 0;
  let wakeReader: (() => void) | undefined;
  let roomForSender: (() => void) | undefined;

  const stream: PacketStream = {
    packets,
    sendFramed: async (framed, written) => {
      const copy = Buffer.from(framed);
      written?.();
      for (let o = 0; o < copy.length; ) {
        const n = copy.readUInt32BE(o + 1);
        inbox.push(fromBinary(PacketSchema, copy.subarray(o + 5, o + 5 + n)));
        inboxBytes.push(5 + n);
        o += 5 + n;
      }
      unread += copy.length;
      wakeReader?.();
      while (unread > window) await new Promise<void>((r) => (roomForSender = r));
    },
  };

  const queue: (Packet | undefined)[] = [];
  let wakeCreator: (() => void) | undefined;
  let roomInQueue: (() => void) | undefined;
  let statsRead = 0;
  let sawData = false;
  let listingRead = false;
  /** For files asked for once contents flow: STATs read by then; the most STATs read between a request and its contents. */
  const readAtRequest = new Map<number, number>();
  let worstLag = 0;
  let pending = 0;
  let listingDone = false;

  const reader = (async () => {
    for (;;) {
      while (inbox.length === 0) await new Promise<void>((r) => (wakeReader = r));
      const p = inbox.shift()!;
      unread -= inboxBytes.shift()!;
      if (unread <= window) roomForSender?.();
      if (p.type === T.PACKET_STAT) {
        while (queue.length >= 128) await new Promise<void>((r) => (roomInQueue = r));
        if (p.stat) statsRead++;
        else listingRead = true;
        queue.push(p.stat ? p : undefined);
        wakeCreator?.();
      } else if (p.type === T.PACKET_DATA) {
        if (p.data.length > 0) {
          const askedAt = readAtRequest.get(p.ID);
          if (askedAt !== undefined) {
            if (!listingRead) worstLag = Math.max(worstLag, statsRead - askedAt);
            readAtRequest.delete(p.ID);
          }
          sawData = true;
        } else if (--pending === 0 && listingDone) send({ type: T.PACKET_FIN });
      } else if (p.type === T.PACKET_FIN) return;
    }
  })();

  const creator = (async () => {
    for (let index = 0; ; index++) {
      while (queue.length === 0) await new Promise<void>((r) => (wakeCreator = r));
      const p = queue.shift();
      roomInQueue?.();
      if (p === undefined) {
        listingDone = true;
        if (pending === 0) send({ type: T.PACKET_FIN });
        return;
      }
      await new Promise((r) => setImmediate(r));
      if ((p.stat!.mode & 0x80000000) === 0 && wants(index)) {
        pending++;
        if (sawData) readAtRequest.set(index, statsRead);
        send({ type: T.PACKET_REQ, ID: index });
      }
    }
  })();

  const started = performance.now();
  const stats = await sendDirectory(dir, stream, {}, undefined, pace);
  const ms = performance.now() - started;
  await Promise.all([creator, reader]);
  return { stats, statsRead, worstLag, ms };
}

describe('pacing the listing against a receiver that creates files as it reads', () => {
  it('sends contents while the files are still being listed, never more than a lead ahead of the requests', async () => {
    // Patient enough that a slow machine never ends the pacing mid-test.
    const lead = 256;
    const r = await modelReceive(() => true, new ListingPace({ lead, resume: 160, patienceMs: 10_000, shortPatienceMs: 10_000 }));
    expect(r.stats.filesSent).toBe(FILES);
    expect(r.statsRead).toBe(r.stats.entries);
    // Once contents flow (the listing before the first request is not
    // paced), a file's contents come at most about a lead of STATs after it
    // was asked for. Sent as fast as the stream takes them, a stream
    // window's worth of STATs (thousands) would be ahead of every file's
    // contents.
    expect(r.worstLag).toBeLessThanOrEqual(2 * lead);
  });

  it('lists at full speed when nothing is asked for', async () => {
    const r = await modelReceive(() => false);
    expect(r.stats.filesSent).toBe(0);
    expect(r.statsRead).toBe(r.stats.entries);
  });

  it('stops pacing soon after the requests stop (an incremental sync)', async () => {
    const r = await modelReceive((i) => i === 100, new ListingPace({ shortPatienceMs: 20 }));
    expect(r.stats.filesSent).toBe(1);
    expect(r.statsRead).toBe(r.stats.entries);
    // One wait of 20 ms, not one for every lead's worth of entries (over 1 s).
    expect(r.ms).toBeLessThan(600);
  });
});
