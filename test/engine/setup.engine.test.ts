// A second run of the setup script, with everything in place, is a no-op: it
// starts no engine, creates no image, installs nothing, and takes seconds.
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { ROOT } from '../support/cli.js';

describe('scripts/setup.sh', () => {
  it('changes nothing and finishes in under 10 seconds when everything is in place', () => {
    const imageIds = () =>
      spawnSync('/usr/bin/docker', ['image', 'inspect', '--format', '{{.Id}}', 'busybox:latest', 'debian:bookworm-slim'], {
        encoding: 'utf8',
      }).stdout;
    const before = imageIds();
    const started = Date.now();
    const r = spawnSync('bash', ['scripts/setup.sh'], { cwd: ROOT, encoding: 'utf8' });
    const seconds = (Date.now() - started) / 1000;
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).not.toMatch(/starting dockerd|created |apt-get|npm ci|building dist/);
    expect(seconds).toBeLessThan(10);
    expect(imageIds()).toBe(before);
  });
});

describe('scripts/engine.sh', () => {
  it('names the endpoint and the fix when DOCKER_HOST points at nothing, and starts no engine', () => {
    const r = spawnSync('bash', ['scripts/engine.sh'], {
      cwd: ROOT,
      encoding: 'utf8',
      env: { ...process.env, DOCKER_HOST: 'tcp://127.0.0.1:1' },
    });
    expect(r.status).toBe(1);
    expect(r.stderr.trim()).toBe(
      'setup: no Docker Engine answers at tcp://127.0.0.1:1; start it, or unset DOCKER_HOST to let setup start a local one.',
    );
  });
});
