import { mkdtempSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  loadSecretValues,
  MAX_SECRET_SIZE,
  parseSecretSpec,
  resolveSecretSpec,
} from '../../src/build/secret-spec.js';
import { UserError } from '../../src/errors.js';

const dir = mkdtempSync(join(tmpdir(), 'hangar-secret-spec-'));
writeFileSync(join(dir, 'token.txt'), 'file-value-1234');
writeFileSync(join(dir, 'MYID'), 'bare-file-value');
writeFileSync(join(dir, 'big'), Buffer.alloc(MAX_SECRET_SIZE + 1, 'x'));
writeFileSync(join(dir, 'exact'), Buffer.alloc(MAX_SECRET_SIZE, 'y'));
mkdirSync(join(dir, 'adir'));

function errorOf(fn: () => unknown): UserError {
  try {
    fn();
  } catch (err) {
    if (err instanceof UserError) return err;
    throw err;
  }
  throw new Error('expected a UserError');
}

async function asyncErrorOf(p: Promise<unknown>): Promise<UserError> {
  try {
    await p;
  } catch (err) {
    if (err instanceof UserError) return err;
    throw err;
  }
  throw new Error('expected a UserError');
}

describe('parseSecretSpec', () => {
  it.each([
    ['id=A,src=f.txt', { id: 'A', src: 'f.txt' }],
    ['id=A,source=f.txt', { id: 'A', src: 'f.txt' }],
    ['id=A,env=VAR', { id: 'A', env: 'VAR' }],
    ['type=env,id=A', { id: 'A', type: 'env' }],
    ['type=file,id=A,src=x', { id: 'A', type: 'file', src: 'x' }],
    ['type=env,id=A,src=VAR', { id: 'A', type: 'env', env: 'VAR' }],
    ['id=A', { id: 'A' }],
    ['ID=A,SRC=x', { id: 'A', src: 'x' }],
    ['src=/run/keys/deploy.key', { id: 'deploy.key', src: '/run/keys/deploy.key' }],
    ['env=GH_TOKEN', { id: 'GH_TOKEN', env: 'GH_TOKEN' }],
    ['id=A,"src=a,b.txt"', { id: 'A', src: 'a,b.txt' }],
  ])('%s', (spec, expected) => {
    expect(parseSecretSpec(spec)).toEqual(expected);
  });

  it.each([
    ['', /needs a value/],
    ['id=A,src=x,env=Y', /both src and env/],
    ['id=A,type=ssh', /unsupported type/],
    ['id=A,frob=1', /unknown key "frob"/],
    ['type=file', /needs an id/],
    ['id=a b', /is not valid/],
    ['id=A,src=', /empty src/],
    ['id=A,type=file,env=X', /type=file but gives env/],
  ])('rejects %j with one sentence', (spec, re) => {
    const err = errorOf(() => parseSecretSpec(spec));
    expect(err.message).toMatch(re);
    expect(err.message.trim().split('\n')).toHaveLength(1);
  });

  it('never echoes a value typed in place of a key=value field', () => {
    const err = errorOf(() => parseSecretSpec('id=A,hunter2-super-secret'));
    expect(err.message).not.toContain('hunter2');
    const err2 = errorOf(() => parseSecretSpec('id=A,value=hunter2-super-secret'));
    expect(err2.message).not.toContain('hunter2');
    expect(err2.message).toContain('"value"');
  });
});

describe('resolveSecretSpec', () => {
  it('id alone uses the env var when set, else the file of that name', () => {
    expect(resolveSecretSpec('id=MYID', { MYID: 'x' })).toEqual({ id: 'MYID', kind: 'env', name: 'MYID' });
    expect(resolveSecretSpec('id=MYID', {})).toEqual({ id: 'MYID', kind: 'file', path: 'MYID' });
    expect(resolveSecretSpec('id=MYID,type=file', { MYID: 'x' })).toEqual({ id: 'MYID', kind: 'file', path: 'MYID' });
    expect(resolveSecretSpec('id=MYID,type=env', {})).toEqual({ id: 'MYID', kind: 'env', name: 'MYID' });
  });
});

describe('loadSecretValues', () => {
  it('reads files relative to cwd and env vars', async () => {
    const values = await loadSecretValues(['id=A,src=token.txt', 'id=B,env=BVAR', 'id=MYID'], {
      env: { BVAR: 'env-value-5678' },
      cwd: dir,
    });
    expect(values.get('A')?.toString()).toBe('file-value-1234');
    expect(values.get('B')?.toString()).toBe('env-value-5678');
    expect(values.get('MYID')?.toString()).toBe('bare-file-value');
  });

  it('accepts exactly 500 KiB and rejects one byte more, naming the id and never the value', async () => {
    const ok = await loadSecretValues(['id=E,src=exact'], { env: {}, cwd: dir });
    expect(ok.get('E')?.length).toBe(MAX_SECRET_SIZE);
    const err = await asyncErrorOf(loadSecretValues(['id=BIG,src=big'], { env: {}, cwd: dir }));
    expect(err.message).toMatch(/secret BIG is 512001 bytes, over BuildKit's limit/);
    expect(err.message).not.toMatch(/xxxx/);
    const big = 'S3CRET'.repeat(100_000);
    const err2 = await asyncErrorOf(loadSecretValues(['id=ENVBIG,env=V'], { env: { V: big }, cwd: dir }));
    expect(err2.message).toMatch(/secret ENVBIG is 600000 bytes/);
    expect(err2.message).not.toContain('S3CRET');
  });

  it('checks every secret before reading any', async () => {
    const err = await asyncErrorOf(
      loadSecretValues(['id=A,src=token.txt', 'id=M,src=missing.txt'], { env: {}, cwd: dir }),
    );
    expect(err.message).toBe('secret M: file missing.txt does not exist; check the src= path.');
  });

  it('names an unset env var and a directory given as a file', async () => {
    const e1 = await asyncErrorOf(loadSecretValues(['id=T,env=NOPE'], { env: {}, cwd: dir }));
    expect(e1.message).toMatch(/secret T reads environment variable NOPE, which is not set/);
    const e2 = await asyncErrorOf(loadSecretValues(['id=D,src=adir'], { env: {}, cwd: dir }));
    expect(e2.message).toMatch(/secret D: adir is not a regular file/);
  });

  it('reads a device or pipe once, stopping at the limit', async () => {
    const empty = await loadSecretValues(['id=N,src=/dev/null'], { env: {}, cwd: dir });
    expect(empty.get('N')?.length).toBe(0);
    const err = await asyncErrorOf(loadSecretValues(['id=Z,src=/dev/zero'], { env: {}, cwd: dir }));
    expect(err.message).toBe("secret Z read from /dev/zero is over BuildKit's limit of 512000 bytes (500 KiB); pass a smaller value.");
  });

  it('rejects a duplicate id', async () => {
    const err = await asyncErrorOf(
      loadSecretValues(['id=A,src=token.txt', 'id=A,env=X'], { env: { X: 'secret-x' }, cwd: dir }),
    );
    expect(err.message).toMatch(/secret A is given more than once/);
    expect(err.message).not.toContain('secret-x');
  });
});
