// On the engine: a final stage that copies from many stages has them built a
// window at a time in the order it copies them, each copy running while later
// stages build; with no window, BuildKit starts them all at once. Either way
// the image has the same files, and a cold build in order makes the image
// docker builds.
import { randomBytes } from 'node:crypto';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { describeImage } from '../../src/build/image-inspect.js';
import { runLocalBuild } from '../../src/build/local-build.js';
import type { ProgressEvent } from '../../src/buildkit/index.js';
import { tempContext } from './support/context.js';
import { compareImages, dockerBuild, listCases } from './support/differential.js';

const run = promisify(execFile);
const DOCKER = '/usr/bin/docker';
const STAGES = 6;

const dockerfile = [
  ...Array.from({ length: STAGES }, (_, i) => [`FROM busybox AS s${i + 1}`, 'ARG NONCE', `RUN sleep 0.4 && echo "${i + 1} $NONCE" > /n${i + 1}`]).flat(),
  'FROM busybox',
  ...Array.from({ length: STAGES }, (_, i) => `COPY --from=s${i + 1} /n${i + 1} /all/`),
  '',
].join('\n');

const ctx = tempContext({ Dockerfile: dockerfile });
const home = tempContext({});
const tags: string[] = [];
afterAll(async () => {
  if (tags.length > 0) await run(DOCKER, ['image', 'rm', '-f', ...tags]).catch(() => undefined);
  ctx.cleanup();
  home.cleanup();
});

interface Span {
  name: string;
  started: number;
  completed: number;
}

/** A cold build (a new NONCE reruns every stage) with the given window; its steps' start and end times as the engine reports them. */
async function build(evaluationWindow: number): Promise<{ spans: Span[]; traces: string[] }> {
  const tag = `hangar-test-order:w${evaluationWindow}`;
  tags.push(tag);
  const vertexes = new Map<string, { name: string; started?: Date; completed?: Date }>();
  const traces: string[] = [];
  await runLocalBuild(
    {
      context: ctx.dir,
      tags: [tag],
      secrets: [],
      buildArgs: { NONCE: randomBytes(8).toString('hex') },
      evaluationWindow,
      env: { ...process.env, XDG_CONFIG_HOME: home.dir, XDG_CACHE_HOME: home.dir },
      cwd: ctx.dir,
    },
    {
      warn: () => undefined,
      trace: (t) => traces.push(t),
      progress: (e: ProgressEvent) => {
        for (const v of e.vertexes) {
          const known = vertexes.get(v.digest) ?? { name: v.name };
          if (v.started) known.started = v.started;
          if (v.completed) known.completed = v.completed;
          vertexes.set(v.digest, known);
        }
      },
    },
  );
  const files = (await run(DOCKER, ['run', '--rm', '--network=host', tag, 'sh', '-c', 'ls /all'])).stdout.split('\n').filter(Boolean);
  expect(files).toEqual(Array.from({ length: STAGES }, (_, i) => `n${i + 1}`).sort());
  const spans = [...vertexes.values()]
    .filter((v) => v.started && v.completed)
    .map((v) => ({ name: v.name, started: v.started!.getTime(), completed: v.completed!.getTime() }));
  return { spans, traces };
}

/** The most spans running at one instant. */
function mostAtOnce(spans: Span[]): number {
  let most = 0;
  for (const s of spans) most = Math.max(most, spans.filter((o) => o.started <= s.started && s.started < o.completed).length);
  return most;
}

const find = (spans: Span[], pattern: RegExp): Span => {
  const found = spans.find((s) => pattern.test(s.name));
  if (!found) throw new Error(`no step named like ${pattern}: ${spans.map((s) => s.name).join(', ')}`);
  return found;
};

describe('stages evaluated in the order the result reads them', () => {
  it('builds a window of stages at a time, copying each while later ones build', async () => {
    const { spans, traces } = await build(2);
    const runs = spans.filter((s) => /^\[s\d+ \d+\/\d+\] RUN sleep/.test(s.name));
    expect(runs).toHaveLength(STAGES);
    expect(mostAtOnce(runs)).toBeLessThanOrEqual(2);
    // The first copy is done before the last stage starts.
    expect(find(spans, /COPY --from=s1 /).completed).toBeLessThanOrEqual(find(spans, /^\[s6 \d+\/\d+\] RUN/).started);
    expect(traces.some((t) => /^evaluated 9 of 9 parts in order, 2 inputs at a time$/.test(t))).toBe(true);
  });

  it('with no window, leaves the order to BuildKit, which starts every stage at once', async () => {
    const { spans, traces } = await build(0);
    const runs = spans.filter((s) => /^\[s\d+ \d+\/\d+\] RUN sleep/.test(s.name));
    expect(runs).toHaveLength(STAGES);
    expect(mostAtOnce(runs)).toBeGreaterThan(2);
    expect(traces.some((t) => t.startsWith('evaluated'))).toBe(false);
  });

  it('builds cold, one stage at a time, the image docker builds (bind mount from a stage, a stage on a stage, a stage read twice)', async () => {
    const c = listCases().find((x) => x.name === 'many-stages')!;
    const dockerTag = 'hangar-test-order:docker';
    const hangarTag = 'hangar-test-order:ordered';
    tags.push(dockerTag, hangarTag);
    const d = await dockerBuild(c, dockerTag);
    expect(d.status, d.output).toBe(0);
    const traces: string[] = [];
    await runLocalBuild(
      {
        context: c.dir,
        tags: [hangarTag],
        secrets: [],
        buildArgs: {},
        noCache: true,
        evaluationWindow: 1,
        env: { ...process.env, XDG_CONFIG_HOME: home.dir, XDG_CACHE_HOME: home.dir },
        cwd: c.dir,
      },
      { warn: () => undefined, trace: (t) => traces.push(t) },
    );
    // s1, s2, s4 (the bind mount), s3 and s5, each with the chain up to its reader.
    expect(traces).toContain('evaluated 10 of 10 parts in order, 1 inputs at a time');
    const [expected, actual] = await Promise.all([describeImage(dockerTag), describeImage(hangarTag)]);
    expect(compareImages(expected, actual)).toEqual([]);
  });
});
