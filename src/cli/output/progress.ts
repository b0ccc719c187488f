// Renders a build's progress (BuildKit vertices, statuses, logs): a live
// view on a terminal (running steps with timers and their last lines of
// output, cached and done marks, collapsed when finished), plain lines when
// output is not a terminal, or one JSON object per line for `--progress json`.
//
// Must never: show output that did not come through the BuildKit client's
// secret redactor (the client redacts before calling onProgress), or write
// cursor movements to anything but a terminal.
import type { Writable } from 'node:stream';
import type { ProgressEvent } from '../../buildkit/api.js';

export type ProgressMode = 'auto' | 'tty' | 'plain' | 'json';

export interface ProgressRenderer {
  update(event: ProgressEvent): void;
  /** Final render; `error` is shown under the failed step. */
  finish(error?: string): void;
}

export interface ProgressOutput extends Pick<Writable, 'write'> {
  isTTY?: boolean;
  columns?: number;
}

export interface RendererOptions {
  /** Milliseconds clock, for tests. */
  now?: () => number;
  /** Lines of output kept per running step on a terminal. */
  tailLines?: number;
  /**
   * Redraw interval on a terminal, and on plain output the least time between
   * two writes, ms (0: draw or write on every update, no timer).
   */
  refreshMs?: number;
}

interface StepState {
  digest: string;
  index: number;
  name: string;
  cached: boolean;
  started?: number;
  completed?: number;
  error?: string;
  tail: string[];
  partial: string;
  statuses: Map<string, { name: string; current: number; total: number; done: boolean }>;
  announced: boolean;
}

export function createProgressRenderer(mode: ProgressMode, out: ProgressOutput, options: RendererOptions = {}): ProgressRenderer {
  const resolved = mode === 'auto' ? (out.isTTY ? 'tty' : 'plain') : mode;
  if (resolved === 'json') return new JsonProgress(out);
  if (resolved === 'plain') return new PlainProgress(out, options);
  return new TtyProgress(out, options);
}

class Steps {
  readonly byDigest = new Map<string, StepState>();
  constructor(readonly tailLines: number) {}

  apply(event: ProgressEvent): { step: StepState; lines: string[]; stream: number }[] {
    for (const v of event.vertexes) {
      let s = this.byDigest.get(v.digest);
      if (!s) {
        s = { digest: v.digest, index: this.byDigest.size + 1, name: v.name, cached: false, tail: [], partial: '', statuses: new Map(), announced: false };
        this.byDigest.set(v.digest, s);
      }
      s.name = v.name;
      s.cached = v.cached;
      if (v.started) s.started = v.started.getTime();
      if (v.completed) s.completed = v.completed.getTime();
      if (v.error) s.error = v.error;
    }
    for (const st of event.statuses) {
      const s = this.byDigest.get(st.vertex);
      if (!s) continue;
      s.statuses.set(st.id, { name: st.name, current: st.current, total: st.total, done: st.completed !== undefined });
    }
    const newLines: { step: StepState; lines: string[]; stream: number }[] = [];
    for (const l of event.logs) {
      const s = this.byDigest.get(l.vertex);
      if (!s) continue;
      const text = s.partial + l.data.toString('utf8');
      const parts = text.split(/\r?\n|\r/);
      s.partial = parts.pop() ?? '';
      newLines.push({ step: s, lines: parts, stream: l.stream });
      s.tail.push(...parts);
      if (s.tail.length > this.tailLines) s.tail.splice(0, s.tail.length - this.tailLines);
    }
    return newLines;
  }

  list(): StepState[] {
    return [...this.byDigest.values()];
  }
}

function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)}s`;
}

function bytes(n: number): string {
  if (n < 1024) return `${n}B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)}kB`;
  return `${(n / 1024 / 1024).toFixed(1)}MB`;
}

/**
 * Plain output is written at most this often, as docker's plain printer
 * does: a many-stage build or a chatty RUN sends hundreds of small updates,
 * and each write is a system call.
 */
const PLAIN_WRITE_MS = 100;

class PlainProgress implements ProgressRenderer {
  readonly #steps = new Steps(0);
  readonly #reported = new Set<string>();
  #pending = '';
  #lastWrite = -Infinity;
  #timer: ReturnType<typeof setTimeout> | undefined;
  constructor(
    readonly out: ProgressOutput,
    readonly options: RendererOptions,
  ) {}

  /** Writes `text` now if nothing was written in the last interval, else with what follows when it ends. */
  #emit(text: string): void {
    if (!text) return;
    this.#pending += text;
    if (this.#timer) return;
    const every = this.options.refreshMs ?? PLAIN_WRITE_MS;
    const wait = this.#lastWrite + every - this.#now();
    if (every <= 0 || wait <= 0) this.#flush();
    else this.#timer = setTimeout(() => this.#flush(), wait);
  }

  #flush(): void {
    this.#timer = undefined;
    if (!this.#pending) return;
    this.out.write(this.#pending);
    this.#pending = '';
    this.#lastWrite = this.#now();
  }

  #now(): number {
    return (this.options.now ?? Date.now)();
  }

  update(event: ProgressEvent): void {
    // Only the steps this event names can change; remember which of them had already completed.
    const completedBefore = new Set<string>();
    for (const v of event.vertexes) if (this.#steps.byDigest.get(v.digest)?.completed !== undefined) completedBefore.add(v.digest);
    const lines = this.#steps.apply(event);
    // Lines are gathered and written together: every line is a write to a pipe or file otherwise.
    let text = '';
    for (const v of event.vertexes) {
      const s = this.#steps.byDigest.get(v.digest)!;
      if (!s.announced && (s.started !== undefined || s.cached)) {
        s.announced = true;
        text += `#${s.index} ${s.name}\n`;
      }
      if (s.completed !== undefined && !completedBefore.has(v.digest) && !this.#reported.has(s.digest)) {
        this.#reported.add(s.digest);
        text += this.#partial(s);
        if (s.error) text += `#${s.index} ERROR: ${s.error}\n`;
        else if (s.cached) text += `#${s.index} CACHED\n`;
        else text += `#${s.index} DONE ${seconds(s.completed - (s.started ?? s.completed))}\n`;
      }
    }
    for (const { step, lines: ls } of lines) {
      for (const line of ls) text += `#${step.index} ${line}\n`;
    }
    for (const st of event.statuses) {
      const s = this.#steps.byDigest.get(st.vertex);
      if (s && st.completed) text += `#${s.index} ${st.name}${st.total ? ` ${bytes(st.current)} / ${bytes(st.total)}` : ''} done\n`;
    }
    this.#emit(text);
  }

  /** A step's unfinished last output line, as a line of its own (once). */
  #partial(s: StepState): string {
    if (!s.partial) return '';
    const line = `#${s.index} ${s.partial}\n`;
    s.partial = '';
    return line;
  }

  finish(error?: string): void {
    clearTimeout(this.#timer);
    let text = '';
    for (const s of this.#steps.list()) text += this.#partial(s);
    if (error) text += `ERROR: ${error}\n`;
    this.#pending += text;
    this.#flush();
  }
}

class JsonProgress implements ProgressRenderer {
  constructor(readonly out: ProgressOutput) {}

  update(event: ProgressEvent): void {
    for (const v of event.vertexes) {
      this.#line({
        type: 'vertex',
        digest: v.digest,
        name: v.name,
        cached: v.cached,
        ...(v.started ? { started: v.started.toISOString() } : {}),
        ...(v.completed ? { completed: v.completed.toISOString() } : {}),
        ...(v.error ? { error: v.error } : {}),
      });
    }
    for (const s of event.statuses) {
      this.#line({ type: 'status', vertex: s.vertex, id: s.id, name: s.name, current: s.current, total: s.total, ...(s.completed ? { completed: s.completed.toISOString() } : {}) });
    }
    for (const l of event.logs) {
      this.#line({ type: 'log', vertex: l.vertex, stream: l.stream, time: l.time.toISOString(), data: l.data.toString('utf8') });
    }
  }

  finish(error?: string): void {
    this.#line(error ? { type: 'result', ok: false, error } : { type: 'result', ok: true });
  }

  #line(obj: Record<string, unknown>): void {
    this.out.write(`${JSON.stringify(obj)}\n`);
  }
}

const SPINNER = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];

class TtyProgress implements ProgressRenderer {
  readonly #steps: Steps;
  readonly #now: () => number;
  readonly #start: number;
  #drawnLines = 0;
  #frame = 0;
  #timer: NodeJS.Timeout | undefined;
  #finished = false;

  constructor(
    readonly out: ProgressOutput,
    readonly options: RendererOptions,
  ) {
    this.#steps = new Steps(options.tailLines ?? 6);
    this.#now = options.now ?? Date.now;
    this.#start = this.#now();
    const every = options.refreshMs ?? 100;
    if (every > 0) {
      this.#timer = setInterval(() => this.#draw(false), every);
      this.#timer.unref();
    }
  }

  update(event: ProgressEvent): void {
    if (this.#finished) return;
    this.#steps.apply(event);
    if (!this.#timer) this.#draw(false);
  }

  finish(error?: string): void {
    if (this.#finished) return;
    this.#finished = true;
    if (this.#timer) clearInterval(this.#timer);
    this.#draw(true, error);
  }

  #draw(final: boolean, error?: string): void {
    const width = Math.max(40, this.out.columns ?? 80);
    const clip = (s: string): string => (s.length > width - 1 ? `${s.slice(0, width - 2)}…` : s);
    const now = this.#now();
    const lines: string[] = [];
    const steps = this.#steps.list();
    const done = steps.filter((s) => s.completed !== undefined).length;
    const header = final
      ? `${error ? 'Build failed' : 'Build finished'} in ${seconds(now - this.#start)} (${done}/${steps.length} steps)`
      : `Building ${seconds(now - this.#start)} (${done}/${steps.length} steps)`;
    lines.push(header);
    this.#frame = (this.#frame + 1) % SPINNER.length;
    for (const s of steps) {
      if (s.started === undefined && !s.cached && s.completed === undefined) continue;
      const running = s.completed === undefined;
      let mark: string;
      let time = '';
      if (s.error) mark = '✖';
      else if (s.cached) mark = '✔';
      else if (running) mark = final ? '■' : SPINNER[this.#frame]!;
      else mark = '✔';
      if (s.cached) time = 'CACHED';
      else if (s.started !== undefined) time = seconds((s.completed ?? now) - s.started);
      const progress = [...s.statuses.values()].find((st) => !st.done && st.total > 0);
      const extra = progress ? ` ${bytes(progress.current)}/${bytes(progress.total)}` : '';
      // The name gives way to the timer, which must stay visible.
      const room = Math.max(10, width - 2 - time.length);
      let name = `${mark} [${s.index}] ${s.name}${extra}`;
      if (name.length > room) name = `${name.slice(0, room - 1)}…`;
      lines.push(clip(`${name}${' '.repeat(Math.max(1, width - 1 - name.length - time.length))}${time}`));
      // Running steps show their latest output; finished ones collapse, except a failure.
      if ((running && !final) || s.error) {
        const tail = s.partial ? [...s.tail, s.partial] : s.tail;
        for (const line of tail.slice(-(this.options.tailLines ?? 6))) lines.push(clip(`    ${line}`));
      }
      if (s.error) lines.push(clip(`    error: ${s.error}`));
    }
    if (final && error && !steps.some((s) => s.error)) lines.push(clip(`error: ${error}`));
    let text = '';
    if (this.#drawnLines > 0) text += `\x1b[${this.#drawnLines}A`;
    for (const line of lines) text += `\x1b[2K${line}\n`;
    // Clear what is left of a taller previous frame.
    for (let i = lines.length; i < this.#drawnLines; i++) text += '\x1b[2K\n';
    const extraLines = Math.max(0, this.#drawnLines - lines.length);
    if (extraLines > 0) text += `\x1b[${extraLines}A`;
    this.#drawnLines = lines.length;
    this.out.write(text);
  }
}
