// Hangar's Dockerfile frontend, the pure half: text → raw tree → typed stages
// and commands → (per instruction, at compile time) expanded words; plus the
// outline and the lint built on them. No sockets, no files, no clock; it must
// never print or return a secret value (it only ever sees secret *ids*).
//
// Public API (stable: add to it, never rename):
//
//   parse(text, {file}) → RawDockerfile
//     {file, directives: {syntax?, escape?, check?}, escape: '\\' | '`',
//      instructions: RawInstruction[], warnings}
//     RawInstruction {keyword (lower-case), command (as written), flags (raw
//     `--x=y`), args (BuildKit's node values: ENV/LABEL give key, value,
//     separator triples; exec form gives the array and json=true), heredocs
//     [{name, fileDescriptor, expand, chomp, content}], startLine, endLine,
//     next (ONBUILD's nested instruction), original, positions}
//     toRawTreeJson(tree) → the `hangar dockerfile parse --json` document.
//
//   parseInstructions(tree) → DockerfileInstructions
//     {file, escape, directives, metaArgs: ArgCommand[] (before the first
//      FROM), stages: Stage[]}
//     Stage {index, name ('' or lower-cased AS name), baseName and platform
//     (unexpanded expressions), line, endLine, commands: Command[], raw}
//     Command is a union on `kind`: run | cmd | entrypoint | copy | add | env |
//     label | arg | expose | workdir | user | shell | healthcheck | stopsignal
//     | volume | onbuild | maintainer. RUN carries mounts (SecretMount,
//     CacheMount, BindMount, TmpfsMount, SshMount, parsed with literal values),
//     mountSpecs (raw, for re-parsing after expansion), network, security,
//     files (heredocs). COPY/ADD carry sourcePaths, sourceContents (heredoc
//     files), dest, from, chown, chmod, link, parents, exclude, ...
//     parseDockerfile(text, {file}) = parseInstructions(parse(text)).
//
//   Expansion (compile time, per instruction):
//     EXPANSION_RULES: which instruction expands which fields, with which scope.
//     resolveGlobalArgs(metaArgs, buildArgs, {predefined}) → Map (FROM's scope)
//     expandStageBase(stage, globalArgs) → {baseName, platform}
//     new StageScope({globalArgs, buildArgs, escape, baseEnv}); scope.step(cmd)
//       expands one command with the variables in effect before it and
//       applies ARG/ENV to the scope; scope.env is what RUN sees.
//     expandCommand(cmd, new WordExpander(env, escape)) for one-off use;
//     expandRunMounts(file, runCmd, expandFn) re-parses RUN mounts expanded.
//     processWord(word, env, options) is the shell lexer itself.
//
//   Outline (outline.ts): outline(ins, {target, buildArgs}) → {target,
//     stages [{index, name, base, baseExpression, platform, line, needed,
//     dependsOn}], buildArgs [{name, default, stage, line}], secrets [{id,
//     target, env, required, mode, uid, gid, stage, line, needed}], ssh};
//     findTargetStage(ins, target), stageDependencies(ins, globalArgs).
//     Secret ids given through variables are resolved with the stage's scope.
//
//   Lint (lint.ts): check(ins, {givenSecrets}) → Finding[] {rule, severity,
//     line, stage, message, fix}; LINT_RULES maps each rule to its severity.
//
//   Secret specs (`--secret id=X,src=F`) live in src/build/secret-spec.ts.
//
// Every malformed input raises DockerfileError (a UserError) with file, line,
// column, the quoted text and a fix.
import { parseInstructions, type DockerfileInstructions } from './instructions.js';
import { parse, type ParseOptions, type RawDockerfile, type RawInstruction } from './parser.js';

export * from './errors.js';
export * from './shell-lex.js';
export * from './parser.js';
export * from './mounts.js';
export * from './instructions.js';
export * from './expansion.js';
export * from './outline.js';
export * from './lint.js';

/** Parses and types a Dockerfile in one step. */
export function parseDockerfile(text: string, options: ParseOptions = {}): DockerfileInstructions {
  return parseInstructions(parse(text, options));
}

/** The JSON shape of one raw instruction in `hangar dockerfile parse --json`. */
export interface RawInstructionJson {
  keyword: string;
  flags: string[];
  args: string[];
  json: boolean;
  heredocs: { name: string; fileDescriptor: number; expand: boolean; chomp: boolean; content: string }[];
  startLine: number;
  endLine: number;
  next?: RawInstructionJson;
}

function instructionJson(ins: RawInstruction): RawInstructionJson {
  const out: RawInstructionJson = {
    keyword: ins.keyword,
    flags: ins.flags,
    args: ins.args,
    json: ins.json,
    heredocs: ins.heredocs.map((h) => ({
      name: h.name,
      fileDescriptor: h.fileDescriptor,
      expand: h.expand,
      chomp: h.chomp,
      content: h.content,
    })),
    startLine: ins.startLine,
    endLine: ins.endLine,
  };
  if (ins.next) out.next = instructionJson(ins.next);
  return out;
}

/** The stable JSON document of a raw tree. */
export function toRawTreeJson(tree: RawDockerfile): {
  directives: Record<string, string>;
  escape: string;
  instructions: RawInstructionJson[];
} {
  return { directives: tree.directives, escape: tree.escape, instructions: tree.instructions.map(instructionJson) };
}
