// The order in which a frontend can have the builder evaluate the parts of a
// build, so that what the result's own chain of steps reads next is built
// first. Pure: a graph in, a list of states out.
//
// Why: BuildKit starts every op whose inputs are ready at once. A final stage
// that copies from many stages in turn (`COPY --from=s1`, then s2, ...) is a
// chain: each copy waits for the one before it and for its stage. With every
// stage started together, the stages finish in no useful order and the chain
// of copies runs last, one after another. Evaluated in the chain's order, a
// few stages at a time, each copy runs as soon as its stage is done, beside
// the stages still building. Fewer steps starting at once also keeps
// BuildKit 0.8 off its flightcontrol race (many RUN steps asking for the
// same resolv.conf at the same instant).
//
// The chain is the result's base steps: each op's root (an exec's `/` mount,
// a file op's first action's input) back to its source. A step of the chain
// that also reads another state (a copy's source, a bind mount) is a join;
// that other state is an input to evaluate. Inputs are listed in the order
// the chain reads them, each once (a state already reached through an
// earlier entry or the chain below is not listed again); every `chunk` joins
// the chain up to that join is listed too, so its steps run as their inputs
// finish rather than all at the end. The chain after the last join is left to
// the build itself.
import type { Output, State, Vertex } from './graph.js';

export interface EvaluationStep {
  /** `input`: a state a join reads besides the chain; `chain`: the result's chain up to a join. */
  kind: 'input' | 'chain';
  state: Output;
}

/** An op's base on the chain: the state it builds on, or null (a source, or an empty root). */
export function chainBase(vertex: Vertex): Output | null {
  let index = -1;
  if (vertex.kind === 'exec') index = vertex.mounts.find((m) => m.dest === '/')?.input ?? -1;
  else if (vertex.kind === 'file') index = vertex.actions[0]?.input ?? -1;
  // A file op's first action on an empty root names no op input.
  return index >= 0 && index < vertex.inputs.length ? vertex.inputs[index]! : null;
}

/**
 * The evaluation order for `result`; empty when ordering would change
 * nothing (fewer than two of the states the chain reads are built by steps,
 * not plain sources such as the context or an image).
 */
export function evaluationOrder(result: State, options: { chunk: number }): EvaluationStep[] {
  if (result === null) return [];
  const chunk = Math.max(1, Math.floor(options.chunk));
  const chain: Vertex[] = [];
  for (let v: Output | null = result; v; v = chainBase(v.vertex)) chain.push(v.vertex);
  chain.reverse();

  // Everything an entry so far (or the chain below the current op) depends on.
  const reached = new Set<Vertex>();
  const reach = (from: Vertex): void => {
    const stack = [from];
    while (stack.length > 0) {
      const v = stack.pop()!;
      if (reached.has(v)) continue;
      reached.add(v);
      for (const input of v.inputs) stack.push(input.vertex);
    }
  };

  const steps: EvaluationStep[] = [];
  let joins = 0;
  let builtInputs = 0;
  let lastJoin = -1;
  let lastChained = -1;
  chain.forEach((vertex, position) => {
    const base = chainBase(vertex);
    if (base) reach(base.vertex);
    let joined = false;
    for (const input of vertex.inputs) {
      if (input === base || reached.has(input.vertex)) continue;
      steps.push({ kind: 'input', state: input });
      if (input.vertex.kind !== 'source') builtInputs++;
      reach(input.vertex);
      joined = true;
    }
    if (!joined) return;
    joins++;
    lastJoin = position;
    if (joins % chunk === 0) {
      steps.push({ kind: 'chain', state: { vertex, index: 0 } });
      lastChained = position;
    }
  });
  if (builtInputs < 2) return [];
  // The chain up to the last join, if the chunks stopped short of it.
  if (lastJoin > lastChained) steps.push({ kind: 'chain', state: { vertex: chain[lastJoin]!, index: 0 } });
  return steps;
}
