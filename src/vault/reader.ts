// SecretReader: the one internal path from the vault to plaintext, for builds
// (build secrets served from the app's runtime secrets) and machines (runtime
// env). It is authorised separately: code must hold the SecretVault object and
// call openSecretReader(vault) explicitly; no HTTP route is given one, so no
// public route can return a value.
//
//   readForBuild(appName, names, { buildId }) → Map<name, Buffer>
//     the current value of each name (staged included, since the deploy that
//     builds will also deploy them); records {buildId, name, digest, time} in
//     the audit table as action "secrets.read-build".
//   readForMachine(appName, { machineId }) → Map<name, Buffer>
//     every deployed value; audit action "secrets.read-machine".
//
// Never logs a value; errors name secrets, never values. A value that fails
// authentication is an error, never a fallback.
import { UserError } from '../errors.js';
import { NotFoundError } from './errors.js';
import { checkSecretName } from './rules.js';
import { auditEntry, SecretVault, vaultInternals } from './vault.js';

export interface ReadRecord {
  name: string;
  digest: string;
}

export class SecretReader {
  private constructor(private readonly vault: SecretVault) {}

  static for(vault: SecretVault): SecretReader {
    return new SecretReader(vault);
  }

  private internals() {
    const i = vaultInternals.get(this.vault);
    if (!i) throw new Error('SecretReader needs a SecretVault');
    return i;
  }

  async readForBuild(appName: string, names: readonly string[], ctx: { buildId: string }): Promise<Map<string, Buffer>> {
    for (const n of names) checkSecretName(n);
    const { store, keysFor } = this.internals();
    const app = await this.vault.requireApp(appName);
    const rows = new Map((await store.repos.findSecrets(app.id, names)).map((r) => [r.name, r]));
    const wanted: { name: string; version: number }[] = [];
    for (const n of names) {
      const v = rows.get(n)?.current_version;
      if (v === null || v === undefined) {
        throw new NotFoundError(`secret ${n} is not set in app ${appName}; set it with \`hangar secrets set ${n}=-\`.`);
      }
      wanted.push({ name: n, version: v });
    }
    return this.unseal(app, wanted, 'secrets.read-build', { build_id: ctx.buildId }, store, keysFor);
  }

  async readForMachine(appName: string, ctx: { machineId: string }): Promise<Map<string, Buffer>> {
    const { store, keysFor } = this.internals();
    const app = await this.vault.requireApp(appName);
    const wanted = (await store.repos.allSecretRows(app.id))
      .filter((r) => r.deployed_version !== null)
      .map((r) => ({ name: r.name, version: r.deployed_version as number }));
    return this.unseal(app, wanted, 'secrets.read-machine', { build_id: ctx.machineId }, store, keysFor);
  }

  private async unseal(
    app: Parameters<ReturnType<SecretReader['internals']>['keysFor']>[0],
    wanted: { name: string; version: number }[],
    action: string,
    extra: { build_id: string },
    store: ReturnType<SecretReader['internals']>['store'],
    keysFor: ReturnType<SecretReader['internals']>['keysFor'],
  ): Promise<Map<string, Buffer>> {
    const keys = keysFor(app);
    const sealed = await store.repos.sealedVersions(app.id, wanted);
    const byName = new Map(sealed.map((s) => [s.name, s]));
    const out = new Map<string, Buffer>();
    const audit = [];
    const at = new Date().toISOString();
    for (const w of wanted) {
      const row = byName.get(w.name);
      if (!row) throw new UserError(`secret ${w.name} version ${w.version} is missing from the store; the database is damaged.`);
      out.set(w.name, SecretVault.openSealed(keys, app.id, w.name, w.version, row.sealed));
      audit.push({ ...auditEntry({ tokenId: null }, action, app.name), time: at, name: w.name, digest: row.digest, ...extra });
    }
    await store.repos.appendAudit(audit);
    return out;
  }
}

export function openSecretReader(vault: SecretVault): SecretReader {
  return SecretReader.for(vault);
}
