// The protobuf writer's own edge cases, against the wire format written out
// by hand: nested messages and strings are written in place after room for
// their length, then moved up against it (messages.test.ts holds whole
// messages to protobuf-es, with short fields).
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ProtoWriter } from '../../src/buildkit/protowire.js';
import { compareBytes } from '../../src/llb/graph.js';

function varint(v: number): number[] {
  const out: number[] = [];
  while (v > 0x7f) {
    out.push((v % 128) | 0x80);
    v = Math.floor(v / 128);
  }
  out.push(v);
  return out;
}

/** Field `field` holding `body` as a length-delimited value. */
function delimited(field: number, body: Uint8Array): Buffer {
  return Buffer.concat([Buffer.from(varint(field * 8 + 2)), Buffer.from(varint(body.length)), body]);
}

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

describe('ProtoWriter', () => {
  it('writes nested messages whose lengths take one to four bytes', () => {
    for (const size of [0, 1, 125, 126, 127, 128, 300, 16_381, 16_383, 16_384, 70_000, 2_097_152]) {
      const payload = Buffer.alloc(size, 0x5a);
      const w = new ProtoWriter();
      w.string(1, 'before');
      w.message(2, (m) => {
        m.message(3, (inner) => inner.bytes(4, payload, true));
        m.bool(5, true);
      });
      w.int(6, 7);
      const inner = delimited(4, payload);
      const middle = Buffer.concat([delimited(3, inner), Buffer.from([5 * 8, 1])]);
      const expected = Buffer.concat([delimited(1, Buffer.from('before')), delimited(2, middle), Buffer.from([6 * 8, 7])]);
      expect(hex(w.finish()), `payload of ${size} bytes`).toBe(hex(expected));
    }
  });

  it('writes an empty nested message as its tag and a zero length', () => {
    const w = new ProtoWriter();
    w.message(1, () => undefined);
    expect(hex(w.finish())).toBe('0a00');
  });

  it('writes any string as its UTF-8 bytes (lone surrogates as U+FFFD), however long', () => {
    const anyText = fc.oneof(
      fc.string({ unit: 'binary', maxLength: 60 }),
      fc.string({ unit: 'grapheme', maxLength: 40 }),
      fc.string({ maxLength: 200 }),
      fc.integer({ min: 0, max: 20_000 }).map((n) => 'é'.repeat(n)),
    );
    fc.assert(
      fc.property(fc.array(anyText, { maxLength: 5 }), (texts) => {
        const w = new ProtoWriter();
        texts.forEach((t, i) => w.message(1, (m) => m.string(i + 1, t, true)));
        const expected = Buffer.concat(texts.map((t, i) => delimited(1, delimited(i + 1, new TextEncoder().encode(t)))));
        expect(hex(w.finish())).toBe(hex(expected));
      }),
    );
  });
});

describe('compareBytes', () => {
  it("orders strings as their UTF-8 bytes, as Go's sort does", () => {
    const sign = (n: number) => Math.sign(n);
    const anyText = fc.oneof(fc.string({ unit: 'binary', maxLength: 8 }), fc.string({ unit: 'binary-ascii', maxLength: 8 }), fc.string({ unit: 'grapheme', maxLength: 6 }));
    fc.assert(
      fc.property(anyText, anyText, (a, b) => {
        expect(sign(compareBytes(a, b))).toBe(sign(Buffer.compare(Buffer.from(a), Buffer.from(b))));
        expect(sign(compareBytes(a, a + b))).toBe(sign(Buffer.compare(Buffer.from(a), Buffer.from(a + b))));
      }),
      { numRuns: 2000 },
    );
    // A code point above U+FFFF (a surrogate pair in UTF-16) sorts after U+E000..U+FFFF in UTF-8.
    expect(compareBytes('\u{1F600}', '\uFF21')).toBeGreaterThan(0);
    expect(compareBytes('\u{1F600}', '\u{1F601}')).toBeLessThan(0);
    expect(compareBytes('a', 'ab')).toBeLessThan(0);
  });
});
