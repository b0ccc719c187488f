// Renders a build's progress (BuildKit vertices, statuses, logs): a live
// view on a terminal (running steps with timers and their last lines of
// output, cached and done marks, collapsed when finished), plain lines when
// output is not a terminal, or one JSON object per line for `--progress json`.
//
// Must never: show output that did not come through the BuildKit client's
// secret redactor (the client redacts before calling onProgress), or write
// cursor movements to anything but a terminal.
import type { Writable } from 'node:stream';
import type { ProgressEvent, ProgressStatus } from '../../buildkit/api.js';

export type ProgressMode = 'auto' | 'tty' | 'plain' | 'json';

export interface ProgressRenderer {
  update(event: ProgressEvent): void;
  /** A line of the command's own (a warning), shown in order with the steps. */
  note(text: string): void;
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
  /** The step's number in the output, given when it first starts; 0 before. */
  index: number;
  name: string;
  cached: boolean;
  started?: number;
  completed?: number;
  error?: string;
  tail: string[];
  partial: string;
  statuses: Map<string, StatusState>;
  announced: boolean;
  /** The completion time a DONE line was written for (plain output). */
  reported?: number;
  /** When this renderer saw the step's latest completion (plain output holds a DONE one interval). */
  completedSeen?: number;
}

interface StatusState {
  current: number;
  total: number;
  done: boolean;
}

export function createProgressRenderer(mode: ProgressMode, out: ProgressOutput, options: RendererOptions = {}): ProgressRenderer {
  const resolved = mode === 'auto' ? (out.isTTY ? 'tty' : 'plain') : mode;
  if (resolved === 'json') return new JsonProgress(out);
  if (resolved === 'plain') return new PlainProgress(out, options);
  return new TtyProgress(out, options);
}

class Steps {
  readonly byDigest = new Map<string, StepState>();
  /** Steps are numbered as they first start (the engine lists a build's vertices in no particular order). */
  #numbered = 0;
  constructor(readonly tailLines: number) {}

  apply(event: ProgressEvent): { step: StepState; lines: string[]; stream: number }[] {
    for (const v of event.vertexes) {
      let s = this.byDigest.get(v.digest);
      if (!s) {
        s = { digest: v.digest, index: 0, name: v.name, cached: false, tail: [], partial: '', statuses: new Map(), announced: false };
        this.byDigest.set(v.digest, s);
      }
      s.name = v.name;
      // Each update carries the vertex's whole state. A vertex can complete and
      // start again (the engine computes its cache key, then runs it): its new
      // start clears the completion. An update without a start after one with
      // a start repeats the vertex's first announcement and changes nothing.
      if (s.started !== undefined && !v.started) continue;
      s.cached = v.cached;
      s.started = v.started?.getTime();
      s.completed = v.completed?.getTime();
      if (s.index === 0 && (s.started !== undefined || s.cached || s.completed !== undefined)) s.index = ++this.#numbered;
      // A step solved again (the build retried) starts without its earlier error.
      if (v.error) s.error = v.error;
      else delete s.error;
    }
    for (const st of event.statuses) {
      const s = this.byDigest.get(st.vertex);
      if (!s) continue;
      s.statuses.set(st.id, { current: st.current, total: st.total, done: st.completed !== undefined });
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

  /** Every step: those that started in their numbers' order, then the others. */
  list(): StepState[] {
    const order = (s: StepState): number => (s.index === 0 ? Number.MAX_SAFE_INTEGER : s.index);
    return [...this.byDigest.values()].sort((a, b) => order(a) - order(b));
  }
}

function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)}s`;
}

/** A byte count in decimal units with two decimals, as docker prints them ("56B", "275.98MB"). */
export function bytes(n: number): string {
  if (n < 1000) return `${n}B`;
  const units = ['kB', 'MB', 'GB', 'TB', 'PB'];
  let v = n / 1000;
  let u = 0;
  while (v >= 1000 && u < units.length - 1) {
    v /= 1000;
    u++;
  }
  return `${v.toFixed(2)}${units[u]}`;
}

/** A status's amount: "current / total", or the current count when there is no total, or nothing. */
function amount(st: { current: number; total: number }, sep = ' / '): string {
  if (st.total) return `${bytes(st.current)}${sep}${bytes(st.total)}`;
  return st.current ? bytes(st.current) : '';
}

/**
 * Plain output is written at most this often, as docker's plain printer
 * does: a many-stage build or a chatty RUN sends hundreds of small updates,
 * and each write is a system call.
 */
const PLAIN_WRITE_MS = 100;

/**
 * A running status (a context transfer, a layer export) gets a line when it
 * first shows, then again when it has moved 5% of its total or 5 s have
 * passed on the engine's clock, and when it ends; docker's plain printer
 * uses the same limits.
 */
const STATUS_LINE_MS = 5000;
const STATUS_LINE_SHARE = 0.05;

/** Text to write, a step whose completion line is decided when the text is written, or text made then. */
type PlainItem = string | StepState | (() => string);

class PlainProgress implements ProgressRenderer {
  readonly #steps = new Steps(0);
  #pending: PlainItem[] = [];
  #lastWrite = -Infinity;
  #timer: ReturnType<typeof setTimeout> | undefined;
  /** The last line written for each status (vertex and status id): its count, engine time, and whether it said done. */
  readonly #statusLines = new Map<string, { current: number; at: number; done: boolean }>();
  /** Statuses updated since the last write: their latest update, written (or not) when the text is. */
  readonly #statusPending = new Map<string, { step: StepState; status: ProgressStatus }>();
  constructor(
    readonly out: ProgressOutput,
    readonly options: RendererOptions,
  ) {}

  get #every(): number {
    return this.options.refreshMs ?? PLAIN_WRITE_MS;
  }

  /** Writes `items` now if nothing was written in the last interval, else with what follows when it ends. */
  #emit(items: PlainItem[]): void {
    if (items.length === 0) return;
    this.#pending.push(...items);
    if (this.#timer) return;
    const wait = this.#lastWrite + this.#every - this.#now();
    if (this.#every <= 0 || wait <= 0) this.#flush(false);
    else this.#timer = setTimeout(() => this.#flush(false), wait);
  }

  /**
   * Writes what is pending. A step's DONE is held until it is one interval
   * old (and what follows it with it): the engine may start the step again
   * at once (it computed the cache key, now it runs the step), and only the
   * completion that lasts is reported, with its own duration.
   */
  #flush(final: boolean): void {
    this.#timer = undefined;
    const now = this.#now();
    let text = '';
    let i = 0;
    for (; i < this.#pending.length; i++) {
      const item = this.#pending[i]!;
      if (typeof item === 'string') {
        text += item;
        continue;
      }
      if (typeof item === 'function') {
        text += item();
        continue;
      }
      const age = now - (item.completedSeen ?? -Infinity);
      if (!final && this.#every > 0 && age < this.#every && this.#unreported(item) && !item.cached && !item.error) {
        this.#timer = setTimeout(() => this.#flush(false), this.#every - age);
        break;
      }
      text += this.#completion(item);
    }
    this.#pending = this.#pending.slice(i);
    if (!text) return;
    this.out.write(text);
    this.#lastWrite = now;
  }

  #unreported(s: StepState): boolean {
    return s.completed !== undefined && s.reported !== s.completed;
  }

  #now(): number {
    return (this.options.now ?? Date.now)();
  }

  /** The step's CACHED, ERROR or DONE line, once per completion, if it is still complete. */
  #completion(s: StepState): string {
    if (!this.#unreported(s)) return '';
    s.reported = s.completed;
    let text = this.#partial(s);
    if (s.error) text += `#${s.index} ERROR: ${s.error}\n`;
    else if (s.cached) text += `#${s.index} CACHED\n`;
    else text += `#${s.index} DONE ${seconds(s.completed! - (s.started ?? s.completed!))}\n`;
    return text;
  }

  /** The latest update of status `key`, as a line if one is due (see STATUS_LINE_MS), else ''. */
  #statusLine(key: string): string {
    const latest = this.#statusPending.get(key);
    if (!latest) return '';
    this.#statusPending.delete(key);
    const { step: s, status: st } = latest;
    const last = this.#statusLines.get(key);
    const done = st.completed !== undefined;
    const at = (st.timestamp ?? st.completed ?? new Date(this.#now())).getTime();
    if (last) {
      if (last.done) return '';
      const moved = st.total > 0 && (st.current - last.current) / st.total >= STATUS_LINE_SHARE;
      if (!done && !moved && at - last.at < STATUS_LINE_MS) return '';
    }
    this.#statusLines.set(key, { current: st.current, at, done });
    const amt = amount(st);
    let tail = '';
    if (st.started) {
      const took = ((st.completed ?? st.timestamp)?.getTime() ?? at) - st.started.getTime();
      if (took > 10) tail = ` ${seconds(took)}`;
    }
    if (done) tail += ' done';
    return `#${s.index} ${st.id}${amt ? ` ${amt}` : ''}${tail}\n`;
  }

  update(event: ProgressEvent): void {
    const lines = this.#steps.apply(event);
    // Lines are gathered and written together: every line is a write to a pipe or file otherwise.
    const items: PlainItem[] = [];
    const later: StepState[] = [];
    let text = '';
    for (const v of event.vertexes) {
      const s = this.#steps.byDigest.get(v.digest)!;
      if (!s.announced && (s.started !== undefined || s.cached)) {
        s.announced = true;
        text += `#${s.index} ${s.name}\n`;
      }
      if (!this.#unreported(s)) continue;
      // A cached or failed step is final: its line follows its name. A DONE
      // follows the step's last output and statuses.
      if (s.cached || s.error) {
        items.push(text, s);
        text = '';
      } else if (!later.includes(s)) {
        later.push(s);
        s.completedSeen = this.#now();
      }
    }
    for (const { step, lines: ls } of lines) {
      for (const line of ls) text += `#${step.index} ${line}\n`;
    }
    for (const st of event.statuses) {
      const step = this.#steps.byDigest.get(st.vertex);
      if (!step || step.index === 0) continue;
      // Updates that come before the next write make one line, as in docker's printer.
      const key = `${st.vertex}|${st.id}`;
      const queued = this.#statusPending.has(key);
      this.#statusPending.set(key, { step, status: st });
      if (queued) continue;
      if (text) items.push(text);
      text = '';
      items.push(() => this.#statusLine(key));
    }
    if (text) items.push(text);
    items.push(...later);
    this.#emit(items);
  }

  note(text: string): void {
    // Written now (after whatever is pending), not on the write interval: a
    // warning before an error must not wait for a timer the exit cancels.
    clearTimeout(this.#timer);
    this.#pending.push(`${text}\n`);
    this.#flush(false);
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
    // The steps' unfinished lines, then the error: after any DONE still held
    // (a DONE writes its step's unfinished line first).
    this.#pending.push(() => {
      let text = '';
      for (const s of this.#steps.list()) text += this.#partial(s);
      return error ? `${text}ERROR: ${error}\n` : text;
    });
    this.#flush(true);
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

  note(text: string): void {
    this.#line({ type: 'note', text });
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
  /** Lines to write above the view at the next draw; they stay when it is redrawn. */
  #notes: string[] = [];

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

  note(text: string): void {
    if (this.#finished) {
      this.out.write(`${text}\n`);
      return;
    }
    this.#notes.push(text);
    this.#draw(false);
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
      const progress = [...s.statuses.values()].find((st) => !st.done && (st.total > 0 || st.current > 0));
      const extra = progress ? ` ${amount(progress, '/')}` : '';
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
    // Notes are written where the previous view began, the view under them.
    const notes = this.#notes.splice(0);
    let text = '';
    if (this.#drawnLines > 0) text += `\x1b[${this.#drawnLines}A`;
    for (const line of [...notes, ...lines]) text += `\x1b[2K${line}\n`;
    // Clear what is left of a taller previous frame.
    for (let i = notes.length + lines.length; i < this.#drawnLines; i++) text += '\x1b[2K\n';
    const extraLines = Math.max(0, this.#drawnLines - notes.length - lines.length);
    if (extraLines > 0) text += `\x1b[${extraLines}A`;
    this.#drawnLines = lines.length;
    this.out.write(text);
  }
}
