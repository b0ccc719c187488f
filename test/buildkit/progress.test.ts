import { afterEach, describe, expect, it, vi } from 'vitest';
import { bytes, createProgressRenderer } from '../../src/cli/output/progress.js';
import type { ProgressEvent } from '../../src/buildkit/api.js';
import { toProgressEvent } from '../../src/buildkit/client.js';
import { SecretRedactor } from '../../src/buildkit/redact.js';
import type { StatusUpdate } from '../../src/buildkit/status-decode.js';

// Tests that take the fake clock hand it back, whatever they assert.
afterEach(() => {
  vi.useRealTimers();
});

function sink(isTTY = false) {
  let text = '';
  return { out: { isTTY, columns: 80, write: (s: string | Uint8Array) => ((text += s.toString()), true) }, text: () => text };
}

/** A plain renderer on the (fake) clock, writing at most every 100 ms; `writes` holds each write. */
function timedPlain() {
  const writes: string[] = [];
  const out = { isTTY: false, write: (s: string | Uint8Array) => (writes.push(s.toString()), true) };
  return { writes, r: createProgressRenderer('plain', out, { now: () => Date.now(), refreshMs: 100 }) };
}

const t = (s: number) => new Date(1_700_000_000_000 + s * 1000);
const events: ProgressEvent[] = [
  { vertexes: [{ digest: 'sha256:a', name: '[1/2] FROM busybox', inputs: [], cached: true, started: t(0), completed: t(0) }], statuses: [], logs: [] },
  { vertexes: [{ digest: 'sha256:b', name: 'RUN make', inputs: ['sha256:a'], cached: false, started: t(1) }], statuses: [], logs: [] },
  { vertexes: [], statuses: [], logs: [{ vertex: 'sha256:b', stream: 1, data: Buffer.from('line one\nline tw'), time: t(2) }] },
  { vertexes: [], statuses: [], logs: [{ vertex: 'sha256:b', stream: 1, data: Buffer.from('o\n'), time: t(2) }] },
  { vertexes: [{ digest: 'sha256:b', name: 'RUN make', inputs: ['sha256:a'], cached: false, started: t(1), completed: t(3.5) }], statuses: [], logs: [] },
];

describe('progress rendering', () => {
  it('prints plain lines when not a terminal', () => {
    const s = sink();
    const r = createProgressRenderer('auto', s.out);
    events.forEach((e) => r.update(e));
    r.finish();
    expect(s.text()).toBe(['#1 [1/2] FROM busybox', '#1 CACHED', '#2 RUN make', '#2 line one', '#2 line two', '#2 DONE 2.5s', ''].join('\n'));
    expect(s.text()).not.toContain('\x1b[');
  });

  describe('plain output written at most every interval', () => {
    it('writes the first update at once, gathers the next ones until the interval ends, and loses nothing at the end', () => {
      vi.useFakeTimers();
      const { writes, r } = timedPlain();
      r.update(events[0]!);
      expect(writes).toEqual(['#1 [1/2] FROM busybox\n#1 CACHED\n']);
      r.update(events[1]!);
      vi.advanceTimersByTime(40);
      r.update(events[2]!);
      expect(writes).toHaveLength(1);
      vi.advanceTimersByTime(60);
      expect(writes).toHaveLength(2);
      expect(writes[1]).toBe('#2 RUN make\n#2 line one\n');
      r.update(events[3]!);
      r.update(events[4]!);
      expect(writes).toHaveLength(2);
      r.finish('boom');
      expect(writes).toHaveLength(3);
      expect(writes.join('')).toBe(['#1 [1/2] FROM busybox', '#1 CACHED', '#2 RUN make', '#2 line one', '#2 line two', '#2 DONE 2.5s', 'ERROR: boom', ''].join('\n'));
      // Nothing is left on a timer after finish.
      vi.advanceTimersByTime(1000);
      expect(writes).toHaveLength(3);
    });

    it('writes on every update with an interval of 0', () => {
      const writes: string[] = [];
      const r = createProgressRenderer('plain', { write: (s: string | Uint8Array) => (writes.push(s.toString()), true) }, { refreshMs: 0 });
      events.forEach((e) => r.update(e));
      expect(writes).toHaveLength(5);
    });
  });

  it('prints one JSON object per line for --progress json', () => {
    const s = sink(true);
    const r = createProgressRenderer('json', s.out);
    events.forEach((e) => r.update(e));
    r.finish('boom');
    const lines = s.text().trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines[0]).toMatchObject({ type: 'vertex', digest: 'sha256:a', cached: true });
    expect(lines.filter((l) => l.type === 'log').map((l) => l.data).join('')).toBe('line one\nline two\n');
    expect(lines.at(-1)).toEqual({ type: 'result', ok: false, error: 'boom' });
  });

  it('draws a live view on a terminal, with timers and output, collapsed when done', () => {
    const s = sink(true);
    let now = 1_700_000_000_000;
    const r = createProgressRenderer('auto', s.out, { now: () => now, refreshMs: 0 });
    events.slice(0, 4).forEach((e) => r.update(e));
    now += 2000;
    r.update({ vertexes: [], statuses: [], logs: [] });
    const live = s.text();
    expect(live).toContain('✔ [1] [1/2] FROM busybox');
    expect(live).toContain('CACHED');
    expect(live).toMatch(/\[2\] RUN make\s+1\.0s/);
    expect(live).toContain('    line two');
    expect(live).toContain('\x1b[2K');
    r.update(events[4]!);
    r.finish();
    const final = s.text().slice(live.length);
    const lastFrame = final.slice(final.lastIndexOf('Build finished'));
    expect(lastFrame).toMatch(/✔ \[2\] RUN make\s+2\.5s/);
    expect(lastFrame).not.toContain('line two');
  });

  it('keeps a failed step and its output visible', () => {
    const s = sink(true);
    const r = createProgressRenderer('tty', s.out, { refreshMs: 0 });
    r.update(events[1]!);
    r.update({ vertexes: [], statuses: [], logs: [{ vertex: 'sha256:b', stream: 2, data: Buffer.from('compiler error\n'), time: t(2) }] });
    r.update({ vertexes: [{ digest: 'sha256:b', name: 'RUN make', inputs: [], cached: false, started: t(1), completed: t(2), error: 'exit code: 2' }], statuses: [], logs: [] });
    r.finish('the build failed');
    const last = s.text().slice(s.text().lastIndexOf('Build failed'));
    expect(last).toContain('✖ [1] RUN make');
    expect(last).toContain('compiler error');
    expect(last).toContain('error: exit code: 2');
  });
});

/** What a terminal shows after `text`: lines are only ever cleared and rewritten whole, the cursor moved up or to the next line. */
function screen(text: string): string[] {
  const rows: string[] = [];
  let row = 0;
  const ESC = String.fromCharCode(27);
  for (const part of text.split(new RegExp(`(${ESC}\\[\\d*[AK]|\n)`))) {
    if (!part) continue;
    const up = new RegExp(`^${ESC}\\[(\\d+)A$`).exec(part);
    if (up) row = Math.max(0, row - Number(up[1]));
    else if (part === '\x1b[2K') rows[row] = '';
    else if (part === '\n') row++;
    else rows[row] = (rows[row] ?? '') + part;
  }
  return rows.slice(0, row);
}

describe('notes among the steps (a warning such as a retried solve)', () => {
  it('writes a note at once on plain output, after the lines still held', () => {
    vi.useFakeTimers();
    const { writes, r } = timedPlain();
    r.update(events[0]!);
    r.update(events[1]!);
    expect(writes).toHaveLength(1);
    r.note('hangar: warning: solving again');
    expect(writes).toEqual(['#1 [1/2] FROM busybox\n#1 CACHED\n', '#2 RUN make\nhangar: warning: solving again\n']);
    r.finish();
    vi.advanceTimersByTime(1000);
    expect(writes.join('')).not.toMatch(/solving again[^]*solving again/);
  });

  it('draws a note above the live view on a terminal, where it stays as the view changes', () => {
    const s = sink(true);
    let now = 1_700_000_000_000;
    const r = createProgressRenderer('tty', s.out, { now: () => now, refreshMs: 0 });
    events.slice(0, 3).forEach((e) => r.update(e));
    r.note('hangar: warning: solving again');
    now += 1000;
    r.update(events[3]!);
    r.update(events[4]!);
    r.finish();
    const shown = screen(s.text());
    expect(shown[0]).toBe('hangar: warning: solving again');
    expect(shown[1]).toMatch(/^Build finished in 1\.0s \(2\/2 steps\)/);
    expect(shown.filter((l) => l.includes('solving again'))).toHaveLength(1);
    expect(shown.slice(2).map((l) => l.trimEnd())).toEqual([expect.stringMatching(/^✔ \[1\] \[1\/2\] FROM busybox +CACHED$/), expect.stringMatching(/^✔ \[2\] RUN make +2\.5s$/)]);
  });

  it('gives a note its own JSON line', () => {
    const s = sink();
    const r = createProgressRenderer('json', s.out);
    r.note('solving again');
    expect(JSON.parse(s.text())).toEqual({ type: 'note', text: 'solving again' });
  });

  it('shows a step that failed and then ran again in a new solve as done, not failed', () => {
    const failed = { vertexes: [{ digest: 'sha256:b', name: 'RUN make', inputs: [], cached: false, started: t(1), completed: t(2), error: 'flightcontrol: exceeded retry timeout' }], statuses: [], logs: [] };
    const again = [
      { vertexes: [{ digest: 'sha256:b', name: 'RUN make', inputs: [], cached: false, started: t(5) }], statuses: [], logs: [] },
      { vertexes: [{ digest: 'sha256:b', name: 'RUN make', inputs: [], cached: false, started: t(5), completed: t(6) }], statuses: [], logs: [] },
    ];
    const tty = sink(true);
    const r = createProgressRenderer('tty', tty.out, { refreshMs: 0 });
    for (const e of [events[1]!, failed, ...again]) r.update(e);
    r.finish();
    const last = screen(tty.text());
    expect(last.join('\n')).not.toContain('✖');
    expect(last.join('\n')).toMatch(/✔ \[1\] RUN make +1\.0s/);
    const plain = sink();
    const p = createProgressRenderer('plain', plain.out, { refreshMs: 0 });
    for (const e of [events[1]!, failed, ...again]) p.update(e);
    p.finish();
    expect(plain.text()).toBe(['#1 RUN make', '#1 ERROR: flightcontrol: exceeded retry timeout', '#1 DONE 1.0s', ''].join('\n'));
  });
});

describe('progress details', () => {
  const vtx = (digest: string, name: string, started?: number, completed?: number, cached = false) => ({
    digest,
    name,
    inputs: [],
    cached,
    ...(started !== undefined ? { started: t(started) } : {}),
    ...(completed !== undefined ? { completed: t(completed) } : {}),
  });
  const ev = (e: Partial<ProgressEvent>): ProgressEvent => ({ vertexes: [], statuses: [], logs: [], ...e });

  it('formats byte counts in decimal units with two decimals, as docker does', () => {
    expect(bytes(0)).toBe('0B');
    expect(bytes(56)).toBe('56B');
    expect(bytes(999)).toBe('999B');
    expect(bytes(1000)).toBe('1.00kB');
    expect(bytes(275_976_018)).toBe('275.98MB');
    expect(bytes(3_500_000_000)).toBe('3.50GB');
  });

  it('reports the completion that lasts when a step completes and starts again at once', () => {
    vi.useFakeTimers();
    const { writes, r } = timedPlain();
    // The engine computes the context's cache key (a completion of 0 s), then transfers it.
    r.update(ev({ vertexes: [vtx('sha256:c', '[internal] load build context')] }));
    r.update(ev({ vertexes: [vtx('sha256:c', '[internal] load build context', 0, 0)] }));
    vi.advanceTimersByTime(5);
    r.update(ev({ vertexes: [vtx('sha256:c', '[internal] load build context', 0.001)] }));
    // A repeat of the first announcement (no start) changes nothing.
    r.update(ev({ vertexes: [vtx('sha256:c', '[internal] load build context')] }));
    vi.advanceTimersByTime(1000);
    r.update(ev({ vertexes: [vtx('sha256:c', '[internal] load build context', 0.001, 4.701)] }));
    vi.advanceTimersByTime(1000);
    r.finish();
    expect(writes.join('')).toBe('#1 [internal] load build context\n#1 DONE 4.7s\n');
  });

  it('reports a step again when it starts again after its DONE was written', () => {
    const s = sink();
    const r = createProgressRenderer('plain', s.out, { refreshMs: 0 });
    r.update(ev({ vertexes: [vtx('sha256:c', 'step', 0, 0.5)] }));
    r.update(ev({ vertexes: [vtx('sha256:c', 'step', 1)] }));
    r.update(ev({ vertexes: [vtx('sha256:c', 'step', 1, 3)] }));
    r.update(ev({ vertexes: [vtx('sha256:c', 'step', 1, 3)] }));
    r.finish();
    expect(s.text()).toBe('#1 step\n#1 DONE 0.5s\n#1 DONE 2.0s\n');
  });

  it('labels statuses by their id, with amounts, times and done, and limits a running one to a line per 5 s or 5%', () => {
    const s = sink();
    const r = createProgressRenderer('plain', s.out, { refreshMs: 0 });
    const st = (id: string, current: number, total: number, at: number, completed?: number) => ({
      id,
      vertex: 'sha256:x',
      name: id.startsWith('transferring') ? 'transferring' : '',
      current,
      total,
      timestamp: t(at),
      started: t(0),
      ...(completed !== undefined ? { completed: t(completed) } : {}),
    });
    r.update(ev({ vertexes: [vtx('sha256:x', '[internal] load build context', 0)] }));
    r.update(ev({ statuses: [st('transferring context:', 0, 0, 0)] }));
    r.update(ev({ statuses: [st('transferring context:', 50_000_000, 0, 2)] })); // under 5 s: no line
    r.update(ev({ statuses: [st('transferring context:', 120_000_000, 0, 5.2)] }));
    r.update(ev({ statuses: [st('transferring context:', 275_976_018, 0, 6.4, 6.4)] }));
    r.update(ev({ statuses: [st('transferring context:', 275_976_018, 0, 6.4, 6.4)] })); // repeated: once
    r.update(ev({ statuses: [st('sha256:aa', 1_000_000, 10_000_000, 6.5)] }));
    r.update(ev({ statuses: [st('sha256:aa', 1_200_000, 10_000_000, 6.6)] })); // 2%: no line
    r.update(ev({ statuses: [st('sha256:aa', 1_600_000, 10_000_000, 6.7)] })); // 6%: a line
    r.update(ev({ statuses: [st('exporting layers', 0, 0, 8.1, 8.1)] }));
    r.update(ev({ vertexes: [vtx('sha256:x', '[internal] load build context', 0, 8.1)] }));
    r.finish();
    expect(s.text().split('\n')).toEqual([
      '#1 [internal] load build context',
      '#1 transferring context:',
      '#1 transferring context: 120.00MB 5.2s',
      '#1 transferring context: 275.98MB 6.4s done',
      '#1 sha256:aa 1.00MB / 10.00MB 6.5s',
      '#1 sha256:aa 1.60MB / 10.00MB 6.7s',
      '#1 exporting layers 8.1s done',
      '#1 DONE 8.1s',
      '',
    ]);
  });

  it('writes one line for the updates of a status that come within one interval', () => {
    vi.useFakeTimers();
    const { writes, r } = timedPlain();
    const st = (completed?: number) => ({ id: 'writing image sha256:ab', vertex: 'sha256:e', name: '', current: 0, total: 0, timestamp: t(1), started: t(1), ...(completed ? { completed: t(completed) } : {}) });
    r.update(ev({ vertexes: [vtx('sha256:e', 'exporting to image', 1)] }));
    r.update(ev({ statuses: [st()] }));
    vi.advanceTimersByTime(20);
    r.update(ev({ statuses: [st(1.3)] }));
    vi.advanceTimersByTime(200);
    r.finish();
    expect(writes.join('')).toBe('#1 exporting to image\n#1 writing image sha256:ab 0.3s done\n');
  });

  it('numbers steps in the order they start, not the order the engine lists them', () => {
    const s = sink();
    const r = createProgressRenderer('plain', s.out, { refreshMs: 0 });
    r.update(ev({ vertexes: [vtx('sha256:run', 'RUN make'), vtx('sha256:from', 'FROM busybox')] }));
    r.update(ev({ vertexes: [vtx('sha256:from', 'FROM busybox', 0, 0, true)] }));
    r.update(ev({ vertexes: [vtx('sha256:run', 'RUN make', 1)] }));
    r.update(ev({ vertexes: [vtx('sha256:run', 'RUN make', 1, 2)] }));
    r.finish();
    expect(s.text()).toBe('#1 FROM busybox\n#1 CACHED\n#2 RUN make\n#2 DONE 1.0s\n');
  });

  it('shows a transfer without a total as its count on a terminal', () => {
    const s = sink(true);
    const r = createProgressRenderer('tty', s.out, { refreshMs: 0 });
    r.update(ev({ vertexes: [vtx('sha256:x', '[internal] load build context', 0)] }));
    r.update(ev({ statuses: [{ id: 'transferring context:', vertex: 'sha256:x', name: 'transferring', current: 12_345_678, total: 0, started: t(0) }] }));
    expect(s.text()).toContain('[1] [internal] load build context 12.35MB');
    r.finish();
  });

  it("masks the build's secrets in every text of a status message", () => {
    const secret = 'hunter2-value';
    const redactor = new SecretRedactor([Buffer.from(secret)]);
    const msg: StatusUpdate = {
      vertexes: [{ digest: 'sha256:v', inputs: [], name: `RUN echo ${secret}`, cached: false, error: `failed: ${secret}` }],
      statuses: [{ ID: `naming to ${secret}`, vertex: 'sha256:v', name: `doing ${secret}`, current: 0, total: 0 }],
      logs: [{ vertex: 'sha256:v', stream: 1, msg: Buffer.from(`out ${secret}\n`) }],
    };
    const event = toProgressEvent(msg, redactor, new Map(), new Set());
    const text = JSON.stringify(event, (_k, v: unknown) => (v && typeof v === 'object' && (v as { type?: string }).type === 'Buffer' ? Buffer.from((v as { data: number[] }).data).toString() : v));
    expect(text).not.toContain(secret);
    expect(event.statuses[0]!.id).toBe('naming to ****');
    expect(event.vertexes[0]!.name).toBe('RUN echo ****');
  });
});
