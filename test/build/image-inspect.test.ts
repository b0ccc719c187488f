// The image description merges layers the way the engine does (whiteouts,
// opaque directories, hard links) and normalises the config for comparison.
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { comparableConfig, describeArchive } from '../../src/build/image-inspect.js';
import { savedImage, tar } from './support/tar-writer.js';

describe('describeArchive', () => {
  it('applies whiteouts and opaque directories across layers', async () => {
    const l1 = tar([
      { path: 'a/', type: 'dir' },
      { path: 'a/one', content: '1' },
      { path: 'a/two', content: '2' },
      { path: 'b/', type: 'dir' },
      { path: 'b/x', content: 'x' },
      { path: 'c', content: 'c', mode: 0o755, uid: 1000, gid: 1001 },
    ]);
    const l2 = tar([
      { path: 'a/.wh.one', content: '' },
      { path: 'b/', type: 'dir', mode: 0o700 },
      { path: 'b/.wh..wh..opq', content: '' },
      { path: 'b/y', content: 'y' },
      { path: 'link', type: 'symlink', linkname: '/c' },
      { path: 'hard', type: 'hardlink', linkname: 'c' },
      { path: `${'deep/'.repeat(30)}file`, content: 'long' },
    ]);
    const d = await describeArchive(Readable.from([savedImage([l1, l2], { config: { Cmd: ['sh'] } })]));
    const paths = d.files.map((f) => f.path);
    expect(paths).toContain('/a/two');
    expect(paths).not.toContain('/a/one');
    expect(paths).not.toContain('/b/x');
    expect(paths).toContain('/b/y');
    expect(paths).toContain(`/${'deep/'.repeat(30)}file`);
    expect(d.files.find((f) => f.path === '/b')!.mode).toBe(0o700);
    expect(d.files.find((f) => f.path === '/c')).toMatchObject({ type: 'file', mode: 0o755, uid: 1000, gid: 1001, size: 1 });
    expect(d.files.find((f) => f.path === '/link')).toMatchObject({ type: 'symlink', linkname: '/c' });
    const hard = d.files.find((f) => f.path === '/hard')!;
    expect(hard.type).toBe('file');
    expect(hard.sha256).toBe(d.files.find((f) => f.path === '/c')!.sha256);
    expect(d.config.Cmd).toEqual(['sh']);
    expect(d.layerCount).toBe(2);
  });
});

describe('comparableConfig', () => {
  it('treats absent and empty the same and sorts set-like fields', () => {
    expect(comparableConfig({ ExposedPorts: { '80/tcp': {}, '443/tcp': {} }, Labels: null, Volumes: { '/b': {}, '/a': {} } })).toEqual({
      Env: [],
      Cmd: null,
      Entrypoint: null,
      WorkingDir: '',
      User: '',
      ExposedPorts: ['443/tcp', '80/tcp'],
      Labels: {},
      Volumes: ['/a', '/b'],
      StopSignal: '',
      Healthcheck: null,
      OnBuild: [],
      Shell: null,
    });
  });
});
