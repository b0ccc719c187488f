import { describe, expect, it } from 'vitest';
import pkg from '../../package.json' with { type: 'json' };
import { tmpdir } from 'node:os';
import { ROOT, hangar } from '../support/cli.js';

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

describe('NODE_EXTRA_CA_CERTS and start-up', () => {
  // Node loads the file as it starts (a missing one gives a warning); bin/hangar keeps it from Node for
  // the commands that apply it themselves, and only for those.
  const env = { NODE_EXTRA_CA_CERTS: `${tmpdir()}/hangar-no-such-ca-file.pem` };
  const nodeWarning = /Ignoring extra certs from `.*hangar-no-such-ca-file\.pem`/;

  it('is not loaded by Node for build and dockerfile', async () => {
    const r = await hangar(['dockerfile', 'outline', '-f', 'test/fixtures/dockerfile/arg-forms/Dockerfile'], { env });
    expect(r.status).toBe(0);
    expect(r.stderr).not.toMatch(nodeWarning);
    const b = await hangar(['build', '--secret', 'id=A,src=/nonexistent/a', '.'], { env, cwd: tmpdir() });
    expect(b.status).toBe(1);
    expect(b.stderr).not.toMatch(nodeWarning);
  });

  it('is left to Node for every other command', async () => {
    const r = await hangar(['--version'], { env });
    expect(r.status).toBe(0);
    expect(r.stderr).toMatch(nodeWarning);
  });
});

describe('hangar output into a closed pipe', () => {
  it('ends quietly when the reader goes away early', async () => {
    const { spawnSync } = await import('node:child_process');
    const r = spawnSync(
      'bash',
      ['-c', `yes 'RUN echo hi' | head -5000 | sed '1i FROM busybox' > "$T" && ./bin/hangar dockerfile parse --json -f "$T" | head -c 10 >/dev/null; echo "status=\${PIPESTATUS[0]}"`],
      { cwd: ROOT, encoding: 'utf8', env: { ...process.env, T: `${tmpdir()}/hangar-epipe-${process.pid}.Dockerfile` } },
    );
    expect(r.stderr).not.toMatch(/EPIPE|Error/);
    expect(r.stdout.trim()).toBe('status=0');
  });
});
