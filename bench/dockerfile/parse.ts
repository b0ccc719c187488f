// Parse + outline speed of the Dockerfile frontend on generated files:
// a 5,000-line Dockerfile (target: under 50 ms) and a 1 MB one (under 1 s).
//   npx tsx bench/dockerfile/parse.ts [--runs N]
//   node --expose-gc --import tsx bench/dockerfile/parse.ts   (collects between runs)
// Prints the median and best of N runs after a warm-up; not a timed test.
import { parse, parseInstructions } from '../../src/dockerfile/index.js';
import { check } from '../../src/dockerfile/lint.js';
import { outline } from '../../src/dockerfile/outline.js';

const runsArg = process.argv.indexOf('--runs');
const RUNS = runsArg > 0 ? Number(process.argv[runsArg + 1]) : 15;

// A realistic mix: multi-stage, secret mounts, continuations, heredocs,
// ENV/LABEL pairs, COPY with flags, comments.
function generate(minLines: number, minBytes = 0): string {
  const lines = ['# syntax=docker/dockerfile:1', 'ARG BASE=debian:bookworm-slim', 'ARG VERSION=1.0.0'];
  let i = 0;
  let bytes = 0;
  const push = (...ls: string[]) => {
    for (const l of ls) {
      lines.push(l);
      bytes += l.length + 1;
    }
  };
  while (lines.length < minLines || bytes < minBytes) {
    const n = i++;
    switch (n % 10) {
      case 0:
        push(`FROM \${BASE} AS stage${n}`, `WORKDIR /src/${n}`);
        break;
      case 1:
        push(
          `RUN --mount=type=secret,id=token${n % 7},required \\`,
          `    --mount=type=cache,target=/var/cache/apt,sharing=locked \\`,
          `    TOKEN="$(cat /run/secrets/token${n % 7})" \\`,
          `    apt-get update && apt-get install -y --no-install-recommends pkg${n}`,
        );
        break;
      case 2:
        push(`ENV PATH="/opt/tool${n}/bin:$PATH" TOOL${n}_HOME=/opt/tool${n} MODE=release`);
        break;
      case 3:
        push(`COPY --from=stage${n - 3} --chown=1000:1000 --chmod=0755 /out/${n} /app/${n}/`);
        break;
      case 4:
        push('RUN <<EOF', 'set -eu', `echo "step ${n}" > /tmp/step${n}`, `test -s /tmp/step${n}`, 'EOF');
        break;
      case 5:
        push(`LABEL org.example.step${n}="value ${n}" org.example.version=$VERSION`);
        break;
      case 6:
        push(`# comment ${n}: why this step exists`, `ARG OPT${n}=default${n}`);
        break;
      case 7:
        push(`RUN --mount=type=secret,id=npm,env=NPM_TOKEN,mode=0440 npm ci --prefix /app/${n}`);
        break;
      case 8:
        push(`COPY <<-"CONF" /etc/app${n}.conf`, `\tname=${n}`, `\tmode=$MODE`, '\tCONF');
        break;
      default:
        push(`HEALTHCHECK --interval=30s --timeout=3s CMD ["/bin/check", "${n}"]`, `USER ${1000 + (n % 5)}`);
    }
  }
  return lines.join('\n') + '\n';
}

function measure(name: string, text: string, target: number): void {
  const lineCount = text.split('\n').length - 1;
  const gc = (globalThis as { gc?: () => void }).gc;
  const once = () => {
    // Start each run from a collected heap so runs do not pay for each other's garbage.
    gc?.();
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    const ins = parseInstructions(parse(text, { file: name }));
    const o = outline(ins);
    const t1 = performance.now();
    const cu = process.cpuUsage(c0);
    check(ins);
    const t2 = performance.now();
    return {
      parseOutline: t1 - t0,
      // CPU time of the process (all threads, GC included): steadier than wall time on a busy machine.
      cpu: (cu.user + cu.system) / 1000,
      check: t2 - t1,
      stages: o.stages.length,
      secrets: o.secrets.length,
    };
  };
  once();
  once();
  const results = Array.from({ length: RUNS }, once);
  const po = results.map((r) => r.parseOutline).sort((a, b) => a - b);
  const ck = results.map((r) => r.check).sort((a, b) => a - b);
  const cpu = results.map((r) => r.cpu).sort((a, b) => a - b);
  const med = (a: number[]) => a[Math.floor(a.length / 2)] as number;
  const first = results[0] as (typeof results)[number];
  console.log(
    `${name}: ${lineCount} lines, ${(text.length / 1024).toFixed(0)} KiB, ${first.stages} stages, ${first.secrets} secret mounts`,
  );
  console.log(
    `  parse+outline: median ${med(po).toFixed(1)} ms, best ${(po[0] as number).toFixed(1)} ms ` +
      `(target < ${target} ms: ${med(po) < target ? 'met' : 'MISSED'}); CPU median ${med(cpu).toFixed(1)} ms; ` +
      `check: median ${med(ck).toFixed(1)} ms`,
  );
}

console.log(
  `node ${process.version}, ${RUNS} runs after 2 warm-up runs` +
    ((globalThis as { gc?: unknown }).gc ? ', heap collected before each run' : ''),
);
measure('5000-lines.Dockerfile', generate(5_000), 50);
measure('1MB.Dockerfile', generate(0, 1024 * 1024), 1000);
