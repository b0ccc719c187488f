// Bad input to `hangar build` that is caught before the builder is contacted:
// one clear sentence, a non-zero exit, and no secret value in the output.
import { randomBytes } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { hangar } from '../support/cli.js';
import { tempContext } from './support/context.js';

// A builder address nothing listens on: none of these cases may get that far.
const NO_BUILDER = { HANGAR_BUILDER: 'unix:///nonexistent/hangar-test.sock', DOCKER_HOST: '' };
const SECRET_VALUE = `v-${randomBytes(12).toString('hex')}`;
const ctx = tempContext({
  Dockerfile: 'FROM busybox AS base\nRUN --mount=type=secret,id=needed,required=true true\nFROM base AS final\nRUN --mount=type=secret,id=maybe true\n',
  'secret.txt': SECRET_VALUE,
  'big.txt': Buffer.alloc(500 * 1024 + 1, 'a'),
  'Syntax.Dockerfile': '# syntax=example.com/custom/frontend:2\nFROM busybox\n',
  'Empty.Dockerfile': '# nothing here\n',
});
afterAll(() => ctx.cleanup());

async function build(args: string[]) {
  const r = await hangar(['build', ...args], { cwd: ctx.dir, env: NO_BUILDER });
  expect(r.stdout + r.stderr).not.toContain(SECRET_VALUE);
  return r;
}

function oneSentence(stderr: string): string {
  const lines = stderr.trim().split('\n');
  expect(lines).toHaveLength(1);
  expect(lines[0]).toMatch(/^hangar: .+[.]$/);
  return lines[0]!;
}

describe('hangar build bad input', () => {
  it('names a missing Dockerfile', async () => {
    const r = await build(['-f', 'Nope.Dockerfile', '.']);
    expect(r.status).toBe(1);
    expect(oneSentence(r.stderr)).toMatch(/Dockerfile Nope\.Dockerfile does not exist; create it or point -f at your Dockerfile\./);
  });

  it('names a missing context directory', async () => {
    const r = await build(['no-such-dir']);
    expect(r.status).toBe(1);
    expect(oneSentence(r.stderr)).toContain('build context no-such-dir does not exist');
  });

  it('names an unknown target stage and lists the stages', async () => {
    const r = await build(['--target', 'nope', '--secret', 'id=needed,src=secret.txt', '.']);
    expect(r.status).toBe(1);
    expect(oneSentence(r.stderr)).toContain('target stage "nope" is not in Dockerfile; the stages are base, final.');
  });

  it('rejects a malformed --secret spec', async () => {
    const r = await build(['--secret', 'src=secret.txt', '.']);
    expect(r.status).toBe(1);
    expect(oneSentence(r.stderr)).toMatch(/id/);
  });

  it('names a missing secret file', async () => {
    const r = await build(['--secret', 'id=needed,src=missing.txt', '.']);
    expect(r.status).toBe(1);
    expect(oneSentence(r.stderr)).toContain('secret needed: file missing.txt does not exist');
  });

  it('refuses a secret over 500 KiB before reading it', async () => {
    const r = await build(['--secret', 'id=needed,src=big.txt', '.']);
    expect(r.status).toBe(1);
    expect(oneSentence(r.stderr)).toMatch(/needed.*500 KiB/);
  });

  it('names a required secret that was not given, with its line', async () => {
    const r = await build(['.']);
    expect(r.status).toBe(1);
    expect(oneSentence(r.stderr)).toBe(
      'hangar: Dockerfile:2 needs secret "needed" (required=true), which was not given; pass it with --secret id=needed,src=FILE or --secret id=needed,env=VAR.',
    );
  });

  it('refuses an unknown # syntax frontend', async () => {
    const r = await build(['-f', 'Syntax.Dockerfile', '.']);
    expect(r.status).toBe(1);
    expect(oneSentence(r.stderr)).toContain('example.com/custom/frontend:2');
  });

  it('refuses a Dockerfile without FROM', async () => {
    const r = await build(['-f', 'Empty.Dockerfile', '.']);
    expect(r.status).toBe(1);
    expect(oneSentence(r.stderr)).toMatch(/FROM/);
  });

  it('refuses an invalid tag and build arg', async () => {
    const t = await build(['-t', 'Bad Tag', '--secret', 'id=needed,src=secret.txt', '.']);
    expect(t.status).toBe(1);
    expect(oneSentence(t.stderr)).toContain('-t Bad Tag is not a valid image name');
    const a = await build(['--build-arg', '1X=2', '.']);
    expect(a.status).toBe(1);
    expect(oneSentence(a.stderr)).toContain('--build-arg 1X is not a valid name');
  });

  it('names an unreachable or unknown builder and refuses unknown flag values', async () => {
    const sock = await build(['--builder', 'unix:///nonexistent/hangar.sock', '--secret', 'id=needed,src=secret.txt', '.']);
    expect(sock.status).toBe(1);
    expect(sock.stderr).toContain('hangar: cannot reach the builder at unix:///nonexistent/hangar.sock');
    const scheme = await build(['--builder', 'ftp://x', '--secret', 'id=needed,src=secret.txt', '.']);
    expect(scheme.status).toBe(1);
    expect(scheme.stderr).toContain('hangar: builder URL scheme "ftp" is not supported');
    const progress = await build(['--progress', 'fancy', '.']);
    expect(progress.status).toBe(1);
    expect(progress.stderr).toContain("argument 'fancy' is invalid");
    const cache = await build(['--secret-cache', 'always', '.']);
    expect(cache.status).toBe(1);
    expect(cache.stderr).toContain("argument 'always' is invalid");
  });

  it('refuses a bad --output, --iidfile or --label before building', async () => {
    const cases: [string[], RegExp][] = [
      [['-o', 'secret.txt', '.'], /--output secret\.txt is not a directory; give a directory to write the files into, or type=tar,dest=FILE for a tarball/],
      [['-o', 'type=local,dest=secret.txt', '.'], /--output secret\.txt is not a directory/],
      [['-o', 'type=local', '.'], /--output type=local needs dest=DIR/],
      [['-o', 'type=local,dest=out,name=x', '.'], /name= applies to type=oci and type=docker only/],
      [['-o', '-', '.'], /--output -: writing to stdout is not supported/],
      [['-o', 'type=image,dest=out', '.'], /--output type=image,dest=out: type=image is not supported; write --output DIR or type=local,dest=DIR/],
      [['-o', 'type=tar', '.'], /--output type=tar needs dest=FILE/],
      [['-o', 'type=tar,dest=-', '.'], /writing to stdout is not supported/],
      [['-o', 'type=tar,dest=x.tar,compression=gzip', '.'], /"compression=gzip" is not understood/],
      [['-o', 'type=tar,dest=x.tar,name=a', '.'], /name= applies to type=oci and type=docker only/],
      [['-o', 'type=oci,dest=no/such/dir/x.tar', '.'], /--output dest=no\/such\/dir\/x\.tar: the directory .*no\/such\/dir does not exist/],
      [['-o', 'type=tar,dest=.', '.'], /--output dest=\. is a directory; give the path of a file to write/],
      [['--iidfile', 'missing/id.txt', '.'], /--iidfile missing\/id\.txt: the directory .*missing does not exist/],
      [['--label', '=x', '.'], /--label =x has no key; write --label KEY=VALUE/],
    ];
    for (const [args, re] of cases) {
      const r = await build(args);
      expect(r.status, args.join(' ')).toBe(1);
      expect(oneSentence(r.stderr), args.join(' ')).toMatch(re);
    }
    const network = await build(['--network', 'bridge', '.']);
    expect(network.status).toBe(1);
    expect(network.stderr).toContain("argument 'bridge' is invalid. Allowed choices are default, host, none");
  });

  it('refuses -f with PATH -, and a context archive on stdin', async () => {
    const both = await build(['-f', 'Dockerfile', '-']);
    expect(both.status).toBe(1);
    expect(oneSentence(both.stderr)).toMatch(/PATH - reads the Dockerfile from stdin and builds without a context; drop -f/);
    const gz = await hangar(['build', '-'], { cwd: ctx.dir, env: NO_BUILDER, input: Buffer.from([0x1f, 0x8b, 8, 0, 0, 0, 0, 0]) });
    expect(gz.status).toBe(1);
    expect(oneSentence(gz.stderr)).toMatch(/a context archive on stdin is not supported; extract it and pass the directory as PATH\./);
  });

  it('refuses -f - together with a secret read from /dev/stdin', async () => {
    const r = await build(['-f', '-', '--secret', 'id=needed,src=/dev/stdin', '.']);
    expect(r.status).toBe(1);
    expect(oneSentence(r.stderr)).toMatch(/-f - and a secret with src=\/dev\/stdin both read stdin/);
  });

  it('refuses builder TLS files for a builder that is not buildkit+tcp://', async () => {
    const r = await build(['--builder-tls-ca', 'secret.txt', '--secret', 'id=needed,src=secret.txt', '--secret', 'id=maybe,src=secret.txt', '.']);
    expect(r.status).toBe(1);
    expect(oneSentence(r.stderr)).toMatch(/--builder-tls-ca\/-cert\/-key apply only to a buildkit\+tcp:\/\/ builder, not unix:\/\/\/nonexistent\/hangar-test\.sock/);
  });

  it('warns about a secret given but never mounted, then fails on the unreachable builder', async () => {
    const r = await build(['--secret', 'id=needed,src=secret.txt', '--secret', `id=unused,src=secret.txt`, '.']);
    expect(r.stderr).toContain('hangar: warning: secret "unused" was given but no RUN step of this build mounts it.');
    expect(r.stderr).toContain('hangar: warning: secret "maybe" used at Dockerfile:4 was not given; the step runs without it.');
    expect(r.status).not.toBe(0);
  });
});
