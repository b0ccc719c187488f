import { afterEach, describe, expect, it, vi } from 'vitest';
import { createProgressRenderer } from '../../src/cli/output/progress.js';
import type { ProgressEvent } from '../../src/buildkit/api.js';

function sink(isTTY = false) {
  let text = '';
  return { out: { isTTY, columns: 80, write: (s: string | Uint8Array) => ((text += s.toString()), true) }, text: () => text };
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
    afterEach(() => {
      vi.useRealTimers();
    });

    it('writes the first update at once, gathers the next ones until the interval ends, and loses nothing at the end', () => {
      vi.useFakeTimers();
      const writes: string[] = [];
      const out = { isTTY: false, write: (s: string | Uint8Array) => (writes.push(s.toString()), true) };
      const r = createProgressRenderer('plain', out, { now: () => Date.now(), refreshMs: 100 });
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
