// The secret lint rules on single RUN lines: what each rule catches, and the
// common safe patterns it must leave alone.
import { describe, expect, it } from 'vitest';
import { parseDockerfile } from '../../src/dockerfile/index.js';
import { check, LINT_RULES, looksLikeSecretName } from '../../src/dockerfile/lint.js';

function rulesFor(run: string, given: string[] = ['s']): string[] {
  const ins = parseDockerfile(`FROM busybox\nRUN --mount=type=secret,id=s --mount=type=secret,id=e,env=TOKEN ${run}\n`);
  return check(ins, { givenSecrets: [...given, 'e'] })
    .map((f) => f.rule)
    .filter((r) => r !== 'secret-optional-missing');
}

describe('secret lint on RUN scripts', () => {
  it.each([
    ['cp /run/secrets/s /app/s', ['secret-copied-to-filesystem']],
    ['mv /run/secrets/s /app/s', ['secret-copied-to-filesystem']],
    ['install -m 600 /run/secrets/s /etc/s', ['secret-copied-to-filesystem']],
    ['dd if=/run/secrets/s of=/etc/s', ['secret-copied-to-filesystem']],
    ['cat /run/secrets/s > /app/.env', ['secret-copied-to-filesystem']],
    ['cat /run/secrets/s >> /app/.env', ['secret-copied-to-filesystem']],
    ['echo "TOKEN=$(cat /run/secrets/s)" > /app/.env', ['secret-copied-to-filesystem']],
    ['echo "$TOKEN" > /root/.token', ['secret-copied-to-filesystem']],
    ['cat /run/secrets/s | tee /app/copy', ['secret-copied-to-filesystem']],
    ['cat /run/secrets/s | base64 > /app/b64', ['secret-copied-to-filesystem']],
    ['sed "s/TOKEN/$(cat /run/secrets/s)/" tmpl > /app/conf', ['secret-copied-to-filesystem']],
    ['cat /run/secrets/s', ['secret-echoed']],
    ['echo $TOKEN', ['secret-echoed']],
    ['echo "${TOKEN}"', ['secret-echoed']],
    ['printf %s "$TOKEN"', ['secret-echoed']],
    ['cat /run/secrets/s | base64', ['secret-echoed']],
    ['printenv TOKEN', ['secret-echoed']],
    ['env', ['secret-echoed']],
    ['set -x; curl -u "me:$TOKEN" http://127.0.0.1/', ['secret-traced']],
    ['cat /run/secrets/other', ['secret-echoed', 'secret-read-without-mount']],
  ])('flags: %s', (run, expected) => {
    expect(rulesFor(run)).toEqual(expected);
  });

  it.each([
    'MY="$(cat /run/secrets/s)" some_command',
    'cat /run/secrets/s | docker-credential-helper store',
    'cat /run/secrets/s | wc -c > /dev/null',
    'test -s /run/secrets/s && echo "secret present"',
    'echo "checking > redirects in quotes" && cat /run/secrets/s | sha256sum -c',
    'cp /run/secrets/s ~/.npmrc && npm ci && rm -f ~/.npmrc',
    'curl -H "Authorization: Bearer $TOKEN" -o /app/data http://127.0.0.1/data',
    'sh -c \'test -n "$TOKEN"\'',
    'echo $TOKENIZER_VERSION',
    'cat /etc/os-release',
    'ls -l /run/secrets/ 2>&1',
    'wc -c < /run/secrets/s > /len',
    'cat /run/secrets/s | sha256sum > /digest',
    'test "$(wc -c < /run/secrets/s)" -eq 25 && echo ok > /ok',
  ])('leaves alone: %s', (run) => {
    expect(rulesFor(run)).toEqual([]);
  });

  it('looks inside heredoc scripts and exec form', () => {
    const ins = parseDockerfile(
      'FROM busybox\nRUN --mount=type=secret,id=s <<EOF\nset -e\ncat /run/secrets/s > /leak\nEOF\nRUN --mount=type=secret,id=s ["cp", "/run/secrets/s", "/leak2"]\n',
    );
    expect(check(ins, { givenSecrets: ['s'] }).map((f) => [f.rule, f.line])).toEqual([
      ['secret-copied-to-filesystem', 2],
      ['secret-copied-to-filesystem', 6],
    ]);
  });

  it('gives every finding a known rule, its severity, a line and a fix', () => {
    const ins = parseDockerfile('# syntax=acme/frontend\nARG NPM_TOKEN\nFROM busybox\nRUN --mount=type=secret,id=s,required cp /run/secrets/s /x\n');
    const findings = check(ins);
    expect(findings.map((f) => f.rule)).toEqual([
      'syntax-needs-pull',
      'secret-name-in-arg',
      'secret-copied-to-filesystem',
      'secret-required-missing',
    ]);
    for (const f of findings) {
      expect(f.severity).toBe(LINT_RULES[f.rule]);
      expect(f.line).toBeGreaterThan(0);
      expect(f.fix.length).toBeGreaterThan(10);
    }
  });
});

describe('secret-looking names', () => {
  it.each(['GITHUB_TOKEN', 'DB_PASSWORD', 'API_KEY', 'apikey', 'AWS_SECRET_ACCESS_KEY', 'NPM_AUTH_TOKEN', 'SECRET', 'ssh-private-key'])(
    '%s looks secret',
    (n) => expect(looksLikeSecretName(n)).toBe(true),
  );
  it.each(['PATH', 'NODE_ENV', 'PUBLIC_KEY', 'TOKEN_URL', 'KEYBOARD', 'SECRET_FILE', 'AUTHOR', 'MONKEY', 'API_KEY_ID'])(
    '%s does not',
    (n) => expect(looksLikeSecretName(n)).toBe(false),
  );
});
