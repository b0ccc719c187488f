// The engine the setup script found or started is reachable, and the local
// base images run offline with host networking.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const run = promisify(execFile);
const DOCKER = '/usr/bin/docker';

describe('local engine and base images', () => {
  it('answers /_ping', async () => {
    const { stdout } = await run(DOCKER, ['version', '--format', '{{.Server.Version}}']);
    expect(stdout.trim()).toMatch(/^\d+\.\d+/);
  });

  it('runs busybox with host networking', async () => {
    const { stdout } = await run(DOCKER, ['run', '--rm', '--network=host', 'busybox', 'sh', '-c', 'echo ok; ls -ld /tmp']);
    expect(stdout).toMatch(/^ok$/m);
    expect(stdout).toMatch(/^drwxrwxrwt/m);
  });

  it('runs apt-get in debian:bookworm-slim', async () => {
    const { stdout } = await run(DOCKER, ['run', '--rm', '--network=host', 'debian:bookworm-slim', 'apt-get', '--version']);
    expect(stdout).toMatch(/^apt \d/);
  });

  it('gives both images the config of the official ones', async () => {
    const { stdout } = await run(DOCKER, ['image', 'inspect', '--format', '{{json .Config.Cmd}}', 'busybox:latest', 'debian:bookworm-slim']);
    expect(stdout.trim().split('\n')).toEqual(['["sh"]', '["bash"]']);
  });
});
