// A push-based reader of tar streams (ustar, GNU long names, PAX headers):
// bytes go in with write(), entries and their content come out through
// callbacks, so archives inside archives (image layers in `docker save`) are
// read in one pass without holding any of them in memory.
// It must never buffer an entry's content; it only sees bytes and passes them on.

export type TarEntryType = 'file' | 'dir' | 'symlink' | 'hardlink' | 'char' | 'block' | 'fifo' | 'other';

export interface TarEntry {
  path: string;
  type: TarEntryType;
  mode: number;
  uid: number;
  gid: number;
  size: number;
  linkname: string;
  mtime: number;
}

export interface TarHandlers {
  entry(entry: TarEntry): void;
  data?(chunk: Buffer): void;
  entryEnd?(): void;
}

const BLOCK = 512;

function readString(buf: Buffer, off: number, len: number): string {
  const slice = buf.subarray(off, off + len);
  const nul = slice.indexOf(0);
  return slice.subarray(0, nul === -1 ? len : nul).toString('utf8');
}

function readNumber(buf: Buffer, off: number, len: number): number {
  const field = buf.subarray(off, off + len);
  // GNU base-256 encoding for values that do not fit in octal.
  if ((field[0]! & 0x80) !== 0) {
    let n = field[0]! & 0x7f;
    for (let i = 1; i < len; i++) n = n * 256 + field[i]!;
    return n;
  }
  const text = readString(buf, off, len).trim();
  return text === '' ? 0 : parseInt(text, 8);
}

function typeOf(flag: string): TarEntryType {
  switch (flag) {
    case '0':
    case '\0':
    case '':
    case '7':
      return 'file';
    case '5':
      return 'dir';
    case '2':
      return 'symlink';
    case '1':
      return 'hardlink';
    case '3':
      return 'char';
    case '4':
      return 'block';
    case '6':
      return 'fifo';
    default:
      return 'other';
  }
}

function parsePax(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  let rest = Buffer.from(text, 'utf8');
  while (rest.length > 0) {
    const space = rest.indexOf(0x20);
    if (space === -1) break;
    const len = parseInt(rest.subarray(0, space).toString('ascii'), 10);
    if (!Number.isFinite(len) || len <= 0) break;
    const record = rest.subarray(space + 1, len - 1).toString('utf8');
    const eq = record.indexOf('=');
    if (eq !== -1) out[record.slice(0, eq)] = record.slice(eq + 1);
    rest = rest.subarray(len);
  }
  return out;
}

export class TarReader {
  private pending: Buffer = Buffer.alloc(0);
  private remaining = 0; // content bytes of the current entry still to come
  private padding = 0; // zero bytes after the content up to the block boundary
  private meta: 'none' | 'longname' | 'longlink' | 'pax' | 'paxglobal' = 'none';
  private metaBuf: Buffer[] = [];
  private longName: string | undefined;
  private longLink: string | undefined;
  private pax: Record<string, string> = {};
  private inEntry = false;
  private ended = false;

  constructor(private readonly handlers: TarHandlers) {}

  write(chunk: Buffer): void {
    let buf = this.pending.length > 0 ? Buffer.concat([this.pending, chunk]) : chunk;
    this.pending = Buffer.alloc(0);
    while (buf.length > 0 && !this.ended) {
      if (this.remaining > 0) {
        const take = Math.min(this.remaining, buf.length);
        const part = buf.subarray(0, take);
        if (this.meta !== 'none') this.metaBuf.push(Buffer.from(part));
        else this.handlers.data?.(part);
        this.remaining -= take;
        buf = buf.subarray(take);
        if (this.remaining === 0) this.finishContent();
        continue;
      }
      if (this.padding > 0) {
        const take = Math.min(this.padding, buf.length);
        this.padding -= take;
        buf = buf.subarray(take);
        continue;
      }
      if (buf.length < BLOCK) {
        this.pending = Buffer.from(buf);
        return;
      }
      const header = buf.subarray(0, BLOCK);
      buf = buf.subarray(BLOCK);
      this.readHeader(header);
    }
  }

  /** Call after the last write; throws when the archive was cut short. */
  end(): void {
    if (this.remaining > 0 || this.inEntry) throw new Error('tar archive ends in the middle of an entry');
  }

  private readHeader(header: Buffer): void {
    if (header.every((b) => b === 0)) return; // end-of-archive blocks
    const flag = String.fromCharCode(header[156]!);
    const size = readNumber(header, 124, 12);
    this.padding = (BLOCK - (size % BLOCK)) % BLOCK;
    if (flag === 'L' || flag === 'K' || flag === 'x' || flag === 'g') {
      this.meta = flag === 'L' ? 'longname' : flag === 'K' ? 'longlink' : flag === 'x' ? 'pax' : 'paxglobal';
      this.metaBuf = [];
      this.remaining = size;
      if (size === 0) this.finishContent();
      return;
    }
    let name = readString(header, 0, 100);
    const magic = readString(header, 257, 6);
    if (magic.startsWith('ustar')) {
      const prefix = readString(header, 345, 155);
      if (prefix) name = `${prefix}/${name}`;
    }
    const entry: TarEntry = {
      path: this.pax.path ?? this.longName ?? name,
      type: typeOf(flag),
      mode: readNumber(header, 100, 8) & 0o7777,
      uid: this.pax.uid !== undefined ? Number(this.pax.uid) : readNumber(header, 108, 8),
      gid: this.pax.gid !== undefined ? Number(this.pax.gid) : readNumber(header, 116, 8),
      size: this.pax.size !== undefined ? Number(this.pax.size) : size,
      linkname: this.pax.linkpath ?? this.longLink ?? readString(header, 157, 100),
      mtime: readNumber(header, 136, 12),
    };
    this.longName = undefined;
    this.longLink = undefined;
    this.pax = {};
    this.remaining = entry.type === 'file' ? entry.size : 0;
    if (entry.type !== 'file') this.padding = (BLOCK - (size % BLOCK)) % BLOCK;
    else this.padding = (BLOCK - (entry.size % BLOCK)) % BLOCK;
    this.inEntry = true;
    this.handlers.entry(entry);
    if (this.remaining === 0) this.finishContent();
  }

  private finishContent(): void {
    if (this.meta !== 'none') {
      const text = Buffer.concat(this.metaBuf).toString('utf8');
      if (this.meta === 'longname') this.longName = text.replace(/\0+$/, '');
      else if (this.meta === 'longlink') this.longLink = text.replace(/\0+$/, '');
      else if (this.meta === 'pax') this.pax = parsePax(text);
      this.meta = 'none';
      this.metaBuf = [];
      return;
    }
    this.inEntry = false;
    this.handlers.entryEnd?.();
  }
}
