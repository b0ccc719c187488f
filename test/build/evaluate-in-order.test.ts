// The driver that has the builder evaluate a build's parts in order, at most
// `window` inputs at a time, against a gateway whose solves finish when the
// test says so.
import { describe, expect, it } from 'vitest';
import { evaluateInOrder } from '../../src/build/evaluate-in-order.js';
import type { Gateway } from '../../src/buildkit/api.js';
import type { MarshaledDefinition } from '../../src/llb/definition.js';
import { marshalDefinition } from '../../src/llb/definition.js';
import type { EvaluationStep } from '../../src/llb/evaluation-order.js';
import { exec, image, type Output } from '../../src/llb/graph.js';

const PLATFORM = { os: 'linux', architecture: 'amd64' };

interface Call {
  result: string;
  evaluate: boolean;
  finish(): void;
  fail(): void;
}

function fakeGateway(): { gateway: Pick<Gateway, 'solve'>; calls: Call[]; running(): number } {
  const calls: Call[] = [];
  let running = 0;
  return {
    calls,
    running: () => running,
    gateway: {
      solve(def: MarshaledDefinition, options?: { evaluate?: boolean }) {
        running++;
        return new Promise((resolve, reject) => {
          calls.push({
            result: def.result,
            evaluate: options?.evaluate === true,
            finish: () => {
              running--;
              resolve({ id: `ref-${calls.length}` });
            },
            fail: () => {
              running--;
              reject(new Error('executor failed running [/bin/sh -c false]: exit code: 1'));
            },
          });
        });
      },
    },
  };
}

const tick = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

function parts(n: number): { inputs: Output[]; steps: EvaluationStep[] } {
  const inputs = Array.from({ length: n }, (_, i) => exec(image('busybox'), { args: ['/bin/sh', '-c', `echo ${i}`] }).root);
  return { inputs, steps: inputs.map((state) => ({ kind: 'input' as const, state })) };
}

describe('evaluateInOrder', () => {
  it('keeps at most `window` inputs evaluating, starts the next as any finishes, and waits for all', async () => {
    const { inputs, steps } = parts(6);
    const chain: EvaluationStep = { kind: 'chain', state: exec(inputs[1]!, { args: ['true'] }).root };
    const { gateway, calls, running } = fakeGateway();
    let settled = false;
    const done = evaluateInOrder(gateway, [...steps.slice(0, 2), chain, ...steps.slice(2)], 2, { platform: PLATFORM }).then((r) => {
      settled = true;
      return r;
    });
    await tick();
    // Two inputs, and the chain step, which does not wait for room.
    expect(calls.map((c) => c.result)).toEqual([inputs[0]!, inputs[1]!, chain.state].map((s) => marshalDefinition(s, { platform: PLATFORM }).result));
    expect(calls.every((c) => c.evaluate)).toBe(true);
    calls[1]!.finish(); // not the oldest: room all the same
    await tick();
    expect(calls).toHaveLength(4);
    expect(running()).toBe(3);
    calls[0]!.finish();
    calls[3]!.finish();
    await tick();
    expect(calls).toHaveLength(6);
    for (const c of calls.slice(4)) c.finish();
    await tick();
    expect(calls).toHaveLength(7);
    expect(settled).toBe(false);
    calls[6]!.finish();
    await tick();
    expect(settled).toBe(false); // the chain step is still evaluating
    calls[2]!.finish();
    expect(await done).toEqual({ evaluated: 7, stoppedEarly: false });
    // Each definition is the part's own, as marshalDefinition gives it.
    expect(calls.map((c) => c.result)).toEqual([inputs[0]!, inputs[1]!, chain.state, ...inputs.slice(2)].map((s) => marshalDefinition(s, { platform: PLATFORM }).result));
  });

  it('stops at the first failure without waiting for the parts still evaluating', async () => {
    const { steps } = parts(5);
    const { gateway, calls } = fakeGateway();
    const done = evaluateInOrder(gateway, steps, 2, { platform: PLATFORM });
    await tick();
    calls[0]!.finish();
    await tick();
    expect(calls).toHaveLength(3);
    calls[2]!.fail();
    // calls[1] never finishes: the build's end cancels it.
    expect(await done).toEqual({ evaluated: 1, stoppedEarly: true });
    expect(calls).toHaveLength(3);
  });

  it('does nothing for no steps', async () => {
    const { gateway, calls } = fakeGateway();
    expect(await evaluateInOrder(gateway, [], 4, {})).toEqual({ evaluated: 0, stoppedEarly: false });
    expect(calls).toHaveLength(0);
  });
});
