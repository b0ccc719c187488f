// Differential tests: every case in test/fixtures/build is built by the
// engine's own Dockerfile frontend and by `hangar build`; the two images must
// have the same filesystem and the same config.
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { describeImage } from '../../src/build/image-inspect.js';
import { scanImage } from '../../src/build/leak-scan.js';
import { compareImages, dockerBuild, hangarBuild, listCases, removeImages, serveDirectory } from './support/differential.js';

const cases = listCases();
const tags: string[] = [];

beforeAll(async () => {
  // Base images some cases build on (ONBUILD triggers), made by the engine's frontend.
  const byName = new Map(cases.map((c) => [c.name, c]));
  for (const c of cases) {
    for (const [baseCase, tag] of Object.entries(c.bases)) {
      const r = await dockerBuild(byName.get(baseCase)!, tag);
      if (r.status !== 0) throw new Error(`base ${tag} did not build:\n${r.output}`);
      tags.push(tag);
    }
  }
});

afterAll(async () => {
  await removeImages(tags);
});

describe('hangar build matches docker build', () => {
  it('has at least 25 cases', () => {
    expect(cases.length).toBeGreaterThanOrEqual(25);
  });

  for (const c of cases) {
    it(c.name, async () => {
      const dockerTag = `hangar-diff-docker:${c.name}`;
      const hangarTag = `hangar-diff-hangar:${c.name}`;
      tags.push(dockerTag, hangarTag);
      const server = c.serve ? await serveDirectory(join(c.dir, c.serve)) : undefined;
      const extra = server ? ['--build-arg', `SERVER=${server.url}`] : [];
      let d, h;
      try {
        d = await dockerBuild(c, dockerTag, extra);
        expect(d.status, d.output).toBe(0);
        h = await hangarBuild(c, hangarTag, extra);
        expect(h.status, h.output).toBe(0);
      } finally {
        await server?.close();
      }
      const [expected, actual] = await Promise.all([describeImage(dockerTag), describeImage(hangarTag)]);
      expect(compareImages(expected, actual)).toEqual([]);
      if (Object.keys(c.secrets).length > 0) {
        const secrets = new Map(Object.entries(c.secrets));
        expect((await scanImage(hangarTag, secrets)).hits).toEqual([]);
        expect(h.output).not.toContain(Object.values(c.secrets)[0]);
      }
    });
  }
});
