// The engine image lookup a build starts with: the id docker reports, or null.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { engineImageId } from '../../src/buildkit/engine-images.js';
import { parseBuilderUrl, resolveBuilderUrl } from '../../src/buildkit/transport.js';

const run = promisify(execFile);

describe('engineImageId', () => {
  it('is the id docker reports for an image in the store, and null for one that is not', async () => {
    const addr = parseBuilderUrl(resolveBuilderUrl(undefined, process.env));
    const { stdout } = await run('/usr/bin/docker', ['image', 'inspect', '-f', '{{.Id}}', 'busybox']);
    expect(await engineImageId(addr, 'docker.io/library/busybox:latest')).toBe(stdout.trim());
    expect(await engineImageId(addr, 'busybox')).toBe(stdout.trim());
    expect(await engineImageId(addr, 'hangar-test-absent/none:1')).toBeNull();
    // Not a reference: nothing is sent.
    expect(await engineImageId(addr, 'a b')).toBeNull();
  });
});
