// The image config model: base configs are read faithfully, env edits keep
// Docker's order, and history reads like BuildKit's.
import { describe, expect, it } from 'vitest';
import {
  addHistory,
  emptyImageConfig,
  getEnv,
  nopHistory,
  parseDuration,
  parseImageConfig,
  runHistory,
  setEnv,
  withShell,
} from '../../src/llb/image-config.js';

describe('image config', () => {
  it('starts scratch with / and the default PATH', () => {
    const img = emptyImageConfig({ os: 'linux', architecture: 'amd64' });
    expect(img.config.WorkingDir).toBe('/');
    expect(getEnv(img.config.Env, 'PATH')).toBe('/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin');
  });

  it('reads a base image config and drops null fields', () => {
    const img = parseImageConfig(
      JSON.stringify({
        architecture: 'amd64',
        os: 'linux',
        config: { Env: ['PATH=/bin'], Cmd: ['sh'], Entrypoint: null, Labels: null, ExposedPorts: { '80/tcp': {} }, OnBuild: ['RUN true'] },
        rootfs: { type: 'layers', diff_ids: ['sha256:aa'] },
        history: [{ created_by: 'x' }],
      }),
    );
    expect(img.config).toEqual({ Env: ['PATH=/bin'], Cmd: ['sh'], ExposedPorts: { '80/tcp': {} }, OnBuild: ['RUN true'] });
    expect(img.rootfs.diff_ids).toEqual(['sha256:aa']);
    expect(img.history).toHaveLength(1);
    expect(() => parseImageConfig('[]')).toThrow(/not a JSON object/);
  });

  it('replaces env values in place', () => {
    expect(setEnv(['A=1', 'B=2'], 'A', '3')).toEqual(['A=3', 'B=2']);
    expect(setEnv(['A=1'], 'C', 'x=y')).toEqual(['A=1', 'C=x=y']);
    expect(getEnv(['C=x=y'], 'C')).toBe('x=y');
    expect(getEnv(['C=x'], 'c')).toBeUndefined();
  });

  it('writes RUN history with the build args in scope', () => {
    const env = new Map([['VERSION', '2']]);
    expect(runHistory(['/bin/sh', '-c', 'make'], [{ key: 'VERSION', value: '1' }, { key: 'OTHER', value: undefined }], env)).toBe(
      'RUN |2 VERSION=2 OTHER= /bin/sh -c make',
    );
    expect(runHistory(['/bin/sh', '-c', 'true'], [], env)).toBe('RUN /bin/sh -c true');
    const img = emptyImageConfig({ os: 'linux', architecture: 'amd64' });
    addHistory(img, 'RUN /bin/sh -c true', true, { solved: true });
    addHistory(img, 'ENV A=b', false);
    expect(img.history).toEqual([
      { created_by: 'RUN /bin/sh -c true # buildkit', comment: 'buildkit.dockerfile.v0' },
      { created_by: 'ENV A=b', comment: 'buildkit.dockerfile.v0', empty_layer: true },
    ]);
    expect(nopHistory('CMD ["sh"]')).toBe('/bin/sh -c #(nop)  CMD ["sh"]');
  });

  it('runs shell form through SHELL', () => {
    const img = emptyImageConfig({ os: 'linux', architecture: 'amd64' });
    expect(withShell(img, 'echo hi')).toEqual(['/bin/sh', '-c', 'echo hi']);
    img.config.Shell = ['/bin/bash', '-euo', 'pipefail', '-c'];
    expect(withShell(img, 'echo hi')).toEqual(['/bin/bash', '-euo', 'pipefail', '-c', 'echo hi']);
  });

  it('parses Go durations', () => {
    expect(parseDuration('30s')).toBe(30e9);
    expect(parseDuration('1m30s')).toBe(90e9);
    expect(parseDuration('500ms')).toBe(5e8);
    expect(parseDuration('1.5h')).toBe(5400e9);
    expect(parseDuration('10')).toBeUndefined();
    expect(parseDuration('')).toBeUndefined();
  });
});
