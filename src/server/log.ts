// Structured server logs: one JSON object per line on stderr. Callers pass
// fields explicitly; request bodies, header values and secret values are never
// given to it, so they never reach a log line.
import type { Writable } from 'node:stream';

export type LogFields = Record<string, string | number | boolean | null | undefined>;

export class ServerLog {
  constructor(private readonly out: Writable) {}

  info(msg: string, fields: LogFields = {}): void {
    this.write('info', msg, fields);
  }

  warn(msg: string, fields: LogFields = {}): void {
    this.write('warn', msg, fields);
  }

  error(msg: string, fields: LogFields = {}): void {
    this.write('error', msg, fields);
  }

  private write(level: string, msg: string, fields: LogFields): void {
    this.out.write(`${JSON.stringify({ time: new Date().toISOString(), level, msg, ...fields })}\n`);
  }
}
