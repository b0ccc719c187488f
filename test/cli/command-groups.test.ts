// `hangar NAME ...` registers only the group named NAME, so each group's name
// must be the one top-level command it registers, and a run must behave the
// same with one group as with all of them.
import { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { commandGroups } from '../../src/cli/commands.js';
import { processContext } from '../../src/cli/context.js';
import { hangar } from '../support/cli.js';

describe('command groups', () => {
  it('each registers exactly the command it is named after', () => {
    const names = new Set<string>();
    for (const g of commandGroups) {
      const program = new Command('hangar');
      g.register(program, processContext());
      expect(program.commands.map((c) => c.name())).toEqual([g.name]);
      names.add(g.name);
    }
    expect(names.size).toBe(commandGroups.length);
  });

  it('lists every command in the top-level help, and a group its own subcommands', async () => {
    const top = await hangar(['--help']);
    expect(top.status).toBe(0);
    for (const g of commandGroups) expect(top.stdout).toMatch(new RegExp(`^  ${g.name}\\b`, 'm'));
    const secrets = await hangar(['secrets', '--help']);
    expect(secrets.stdout).toMatch(/^ {2}list\b/m);
    const typo = await hangar(['buidl']);
    expect(typo.status).toBe(1);
    expect(typo.stderr).toMatch(/^hangar: unknown command 'buidl'; run `hangar --help` to see the commands\.$/m);
  });
});
