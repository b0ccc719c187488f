import { describe, expect, it } from 'vitest';
import pkg from '../../package.json' with { type: 'json' };
import { hangar } from '../support/cli.js';

describe('hangar CLI basics', () => {
  it('prints its version', async () => {
    const r = await hangar(['--version']);
    expect(r.status).toBe(0);
    expect(r.stdout.trim()).toBe(pkg.version);
  });

  it('lists the command tree with --help', async () => {
    const r = await hangar(['--help']);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^Usage: hangar/m);
    expect(r.stdout).toMatch(/Commands:/);
  });

  it('rejects an unknown command with one sentence and exit 1', async () => {
    const r = await hangar(['frobnicate']);
    expect(r.status).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/^hangar: unknown command 'frobnicate'.*hangar --help/);
  });

  it('rejects an unknown flag with one sentence and exit 1', async () => {
    const r = await hangar(['--frobnicate']);
    expect(r.status).toBe(1);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/unknown option '--frobnicate'/);
  });
});
