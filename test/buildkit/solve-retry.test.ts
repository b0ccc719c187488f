// A build solved again after BuildKit 0.8's flightcontrol race. The real
// engine hits the race at random (about one cold 30-stage build in seven
// here), so these cases script a builder on a unix socket that answers Solve
// with the engine's own error text; the engine test next to this one checks
// that a real failing step, whose message quotes its command, is not retried.
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { BuildFailedError, connectBuilder, GrpcError, GrpcStatus, SecretStore } from '../../src/buildkit/index.js';
import { schedulerRace } from '../../src/buildkit/client.js';
import { GrpcServer } from '../../src/buildkit/grpc.js';
import { BytesMessageSchema } from '../../src/buildkit/gen/buildkit/session/filesync_pb.js';
import { SolveRequestSchema, SolveResponseSchema, StatusRequestSchema, StatusResponseSchema } from '../../src/buildkit/gen/buildkit/control/control_pb.js';
import { pbDecoder, pbEncoder } from '../../src/buildkit/pb-codec.js';
import { exec, image } from '../../src/llb/graph.js';
import { marshalDefinition } from '../../src/llb/definition.js';

const RACE = 'executor failed running [/bin/sh -c echo 18 > /n]: flightcontrol: exceeded retry timeout';
const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const c of cleanups.splice(0)) c();
});

/** A builder whose Solve answers come from `answers` in turn (an error text, or success). */
async function scriptedBuilder(answers: (string | null)[], onSolve: () => void = () => undefined) {
  const dir = mkdtempSync(path.join(tmpdir(), 'hangar-retry-'));
  const sock = path.join(dir, 'buildkitd.sock');
  const solves: { ref: string; session: string; hasDefinition: boolean }[] = [];
  let sessions = 0;
  const grpc = new GrpcServer();
  grpc.bidi('/moby.buildkit.v1.Control/Session', pbDecoder(BytesMessageSchema), pbEncoder(BytesMessageSchema), async (call) => {
    sessions++;
    for await (const _ of call.requests);
  });
  grpc.bidi('/moby.buildkit.v1.Control/Status', pbDecoder(StatusRequestSchema), pbEncoder(StatusResponseSchema), async (call) => {
    for await (const _ of call.requests);
  });
  grpc.unary('/moby.buildkit.v1.Control/Solve', pbDecoder(SolveRequestSchema), pbEncoder(SolveResponseSchema), (req) => {
    solves.push({ ref: req.Ref, session: req.Session, hasDefinition: (req.Definition?.def.length ?? 0) > 0 });
    onSolve();
    const answer = answers[solves.length - 1];
    if (answer === undefined) throw new GrpcError(GrpcStatus.INTERNAL, 'solved more often than scripted');
    if (answer !== null) throw new GrpcError(GrpcStatus.UNKNOWN, answer);
    return { ExporterResponse: { 'containerimage.digest': 'sha256:' + 'ab'.repeat(32) } };
  });
  const listener = net.createServer((c) => grpc.serveOn(c));
  await new Promise<void>((resolve) => listener.listen(sock, resolve));
  const client = await connectBuilder(`buildkit+unix://${sock}`, {});
  cleanups.push(() => {
    client.close();
    listener.close();
    grpc.close();
    rmSync(dir, { recursive: true, force: true });
  });
  return { client, solves, sessions: () => sessions };
}

const definition = () => marshalDefinition(exec(image('busybox'), { args: ['true'], env: [], network: 'host' }).root, { platform: { os: 'linux', architecture: 'amd64' } });

describe('solving again after the builder race', () => {
  it('solves again on the same session and returns the second solve', async () => {
    const secrets = new SecretStore();
    secrets.set('token', 'kept-for-the-second-solve');
    const value = secrets.values()[0]!;
    const seen: string[] = [];
    const b = await scriptedBuilder([RACE, null], () => seen.push(value.toString()));
    const retries: string[] = [];
    const res = await b.client.build({ definition: definition(), secrets, onRetry: (why) => retries.push(why) });
    expect(res.imageDigest).toBe('sha256:' + 'ab'.repeat(32));
    expect(b.solves).toHaveLength(2);
    expect(b.solves[0]!.ref).not.toBe(b.solves[1]!.ref);
    expect(b.solves[1]!.session).toBe(b.solves[0]!.session);
    expect(b.solves.every((s) => s.hasDefinition)).toBe(true);
    expect(b.sessions()).toBe(1);
    expect(retries).toHaveLength(1);
    expect(retries[0]).toMatch(/flightcontrol: exceeded retry timeout.*not on the Dockerfile; solving again \(attempt 2 of 3\)/);
    // The secrets are there for the second solve, and wiped when the build ends.
    expect(seen).toEqual(['kept-for-the-second-solve', 'kept-for-the-second-solve']);
    expect(value.every((byte) => byte === 0)).toBe(true);
  });

  it('gives up after three solves in a row hit the race, with a sentence saying what to do', async () => {
    const b = await scriptedBuilder([RACE, RACE, RACE]);
    const retries: string[] = [];
    const err = await b.client.build({ definition: definition(), onRetry: (why) => retries.push(why) }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BuildFailedError);
    expect((err as Error).message).toMatch(/^the build failed 3 times in a row on a race in the builder itself .*run the build again \(finished steps are cached\)/);
    expect(b.solves).toHaveLength(3);
    expect(retries).toHaveLength(2);
  });

  it('does not solve again after any other failure', async () => {
    const b = await scriptedBuilder(['executor failed running [/bin/sh -c exit 2]: exit code: 2']);
    const retries: string[] = [];
    const err = await b.client.build({ definition: definition(), onRetry: (why) => retries.push(why) }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BuildFailedError);
    expect((err as Error).message).toBe('the build failed: executor failed running [/bin/sh -c exit 2]: exit code: 2');
    expect(b.solves).toHaveLength(1);
    expect(retries).toEqual([]);
  });
});

describe('schedulerRace', () => {
  it("names BuildKit's flightcontrol timeout only when the message ends with it", () => {
    expect(schedulerRace(new GrpcError(GrpcStatus.UNKNOWN, RACE))).toBe('flightcontrol: exceeded retry timeout');
    expect(schedulerRace(new GrpcError(GrpcStatus.UNKNOWN, `rpc error: code = Unknown desc = ${RACE}\n`))).toBe('flightcontrol: exceeded retry timeout');
    expect(schedulerRace(new BuildFailedError(`the build failed: ${RACE}`))).toBe('flightcontrol: exceeded retry timeout');
    expect(schedulerRace(new GrpcError(GrpcStatus.UNKNOWN, 'flightcontrol: exceeded retry timeout'))).toBe('flightcontrol: exceeded retry timeout');
    // A failing command that prints or names the text: its message ends with the exit code.
    expect(schedulerRace(new GrpcError(GrpcStatus.UNKNOWN, 'executor failed running [/bin/sh -c echo "x]: flightcontrol: exceeded retry timeout"; exit 4]: exit code: 4'))).toBeUndefined();
    expect(schedulerRace(new GrpcError(GrpcStatus.UNKNOWN, 'executor failed running [/bin/sh -c sleep 1]: myflightcontrol: exceeded retry timeout'))).toBeUndefined();
    expect(schedulerRace(new Error('failed to compute cache key: "/x" not found'))).toBeUndefined();
    expect(schedulerRace('flightcontrol: exceeded retry timeout')).toBeUndefined();
  });
});
