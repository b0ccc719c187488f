// Writes small tar archives in memory for tests: ustar headers, PAX records
// for long names, and `docker save`-shaped image archives built from them.
import { createHash } from 'node:crypto';

export interface TarInput {
  path: string;
  type?: 'file' | 'dir' | 'symlink' | 'hardlink';
  content?: Buffer | string;
  mode?: number;
  uid?: number;
  gid?: number;
  linkname?: string;
}

function octal(n: number, len: number): string {
  return n.toString(8).padStart(len - 1, '0') + '\0';
}

function header(name: string, size: number, flag: string, e: TarInput): Buffer {
  const h = Buffer.alloc(512);
  h.write(name.slice(0, 100), 0, 'utf8');
  h.write(octal(e.mode ?? (flag === '5' ? 0o755 : 0o644), 8), 100, 'ascii');
  h.write(octal(e.uid ?? 0, 8), 108, 'ascii');
  h.write(octal(e.gid ?? 0, 8), 116, 'ascii');
  h.write(octal(size, 12), 124, 'ascii');
  h.write(octal(0, 12), 136, 'ascii');
  h.write('        ', 148, 'ascii');
  h.write(flag, 156, 'ascii');
  h.write((e.linkname ?? '').slice(0, 100), 157, 'utf8');
  h.write('ustar\0', 257, 'ascii');
  h.write('00', 263, 'ascii');
  let sum = 0;
  for (const b of h) sum += b;
  h.write(octal(sum, 7) + ' ', 148, 'ascii');
  return h;
}

function pad(b: Buffer): Buffer {
  const rest = (512 - (b.length % 512)) % 512;
  return rest ? Buffer.concat([b, Buffer.alloc(rest)]) : b;
}

export function tar(entries: TarInput[]): Buffer {
  const parts: Buffer[] = [];
  for (const e of entries) {
    const type = e.type ?? 'file';
    const flag = { file: '0', dir: '5', symlink: '2', hardlink: '1' }[type];
    const content = type === 'file' ? Buffer.from(e.content ?? '') : Buffer.alloc(0);
    if (Buffer.byteLength(e.path) > 100 || Buffer.byteLength(e.linkname ?? '') > 100) {
      const recs = [`path=${e.path}`, ...(e.linkname ? [`linkpath=${e.linkname}`] : [])].map((r) => {
        let len = Buffer.byteLength(r) + 3;
        while (`${len} ${r}\n`.length !== len) len = Buffer.byteLength(`${len} ${r}\n`);
        return `${len} ${r}\n`;
      });
      const body = Buffer.from(recs.join(''));
      parts.push(header('PaxHeader', body.length, 'x', {path: 'PaxHeader'}), pad(body));
    }
    parts.push(header(e.path, content.length, flag, e), pad(content));
  }
  parts.push(Buffer.alloc(1024));
  return Buffer.concat(parts);
}

/** An archive shaped like `docker save` output: one image, its layers in order. */
export function savedImage(layers: Buffer[], config: Record<string, unknown>): Buffer {
  const diffIds = layers.map((l) => `sha256:${createHash('sha256').update(l).digest('hex')}`);
  const cfg = Buffer.from(JSON.stringify({ ...config, rootfs: { type: 'layers', diff_ids: diffIds } }));
  const cfgName = `${createHash('sha256').update(cfg).digest('hex')}.json`;
  const layerNames = layers.map((_, i) => `${String(i).padStart(64, 'a')}/layer.tar`);
  const manifest = [{ Config: cfgName, RepoTags: ['test:latest'], Layers: layerNames }];
  return tar([
    ...layers.flatMap((l, i) => [
      { path: `${String(i).padStart(64, 'a')}/`, type: 'dir' as const },
      { path: layerNames[i]!, content: l },
    ]),
    { path: cfgName, content: cfg },
    { path: 'manifest.json', content: JSON.stringify(manifest) },
  ]);
}
