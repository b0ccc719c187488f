// The one error type of the Dockerfile frontend: every problem in a Dockerfile
// is reported with file, line and column, the offending text quoted, and a fix
// where there is one. It never carries build-arg or secret values, only
// Dockerfile text.
import { UserError } from '../errors.js';

/** A 1-based line and column (columns count UTF-16 code units). */
export interface Position {
  line: number;
  column: number;
}

const MAX_EXCERPT = 80;

function excerptOf(text: string): string {
  const t = text.trim();
  return t.length > MAX_EXCERPT ? `${t.slice(0, MAX_EXCERPT - 3)}...` : t;
}

export class DockerfileError extends UserError {
  readonly file: string;
  readonly line: number;
  readonly column: number;
  /** The quoted text: the instruction, flag or word at fault. */
  readonly excerpt: string;
  /** The problem alone, without location or fix. */
  readonly problem: string;
  readonly fix: string | undefined;

  constructor(args: { file: string; at: Position; problem: string; excerpt: string; fix?: string | undefined }) {
    const excerpt = excerptOf(args.excerpt);
    const quoted = excerpt === '' ? '' : ` in ${JSON.stringify(excerpt)}`;
    const fix = args.fix ? `; ${args.fix.replace(/[.\s]+$/, '')}` : '';
    const problem = args.problem.replace(/[.\s]+$/, '');
    const text = `${args.file}:${args.at.line}:${args.at.column}: ${problem}${quoted}${fix}`;
    super(/[?!]$/.test(text) ? text : `${text}.`);
    this.name = 'DockerfileError';
    this.file = args.file;
    this.line = args.at.line;
    this.column = args.at.column;
    this.excerpt = excerpt;
    this.problem = problem;
    this.fix = args.fix;
  }
}

export function isDockerfileError(err: unknown): err is DockerfileError {
  return err instanceof DockerfileError;
}
