// The MTA-STS commands (docs/courier.md#policy-display): `--sts` shows a domain's policy;
// `--sts-purge` and `--sts-override=` change its cache entry first; `--sts-expire` and
// `--sts-cache-*` manage the cache (lib/sts/admin.ts does the work, this file prints Courier's
// lines).
import { causeText, expireCache, overrideMode, purgePolicy, setCacheSize } from "../sts/admin.ts";
import { StsError } from "../sts/errors.ts";
import { lookupSts, type StsResult } from "../sts/lookup.ts";
import { STS_MODES, type StsMode } from "../sts/policy.ts";
import {
  cachedPolicyNotFoundLine,
  noWritePermissionLine,
  pathErrorLine,
  reasonLine,
  reloadingLine,
  stsDisplay,
  stsPolicyNotFoundLine,
  unknownStsPolicyLine,
} from "../report/text.ts";
import { EXIT_FAILURE, EXIT_OK } from "./args.ts";
import { stsReasons } from "./lookup_command.ts";
import { explain, type Session } from "./session.ts";

/** `--sts`: the policy display (docs/courier.md#policy-display). */
export async function showPolicy(session: Session, domain: string): Promise<number> {
  const { host, args } = session;
  let sts: StsResult;
  try {
    sts = await lookupSts(domain, {
      resolver: session.resolver,
      store: session.store,
      caCerts: session.caCerts,
      now: () => host.now(),
      signal: session.signal,
    });
  } catch (error) {
    if (!session.signal.aborted) throw error;
    await host.stderr(reasonLine(`Deadline of ${args.deadlineMs / 1000} s reached`));
    sts = { enabled: true, cache: "unchanged", warnings: [] };
  }
  await explain(session, stsReasons(sts));
  if (!sts.policy || sts.id === undefined || sts.timestampSec === undefined) {
    if (!sts.enabled) {
      await explain(session, ["The STS cache is disabled, so STS is off (.cache_size is 0)"]);
    }
    await host.stderr(stsPolicyNotFoundLine(domain));
    return EXIT_FAILURE;
  }
  await host.stdout(stsDisplay({
    id: sts.id,
    cached: sts.source === "cache",
    timestamp: new Date(sts.timestampSec * 1000),
    expiration: new Date((sts.timestampSec + sts.policy.maxAge) * 1000),
    policy: sts.policy.text,
  }));
  return EXIT_OK;
}

/** `--sts-purge`: unlink the entry, say so, then display (docs/courier.md#purge-display). */
export async function purgeCommand(session: Session, domain: string): Promise<number> {
  const { host } = session;
  const result = await purgePolicy(session.store, domain);
  if (result.kind === "invalid") await explain(session, [result.reason]);
  if (result.kind === "absent") {
    await host.stderr(pathErrorLine(result.path, "No such file or directory"));
  }
  if (result.kind === "failed") await host.stderr(pathErrorLine(result.path, result.reason));
  await host.stdout(reloadingLine(domain));
  return await showPolicy(session, domain);
}

/**
 * `--sts-override=MODE`: rewrite the cached entry's mode, then display
 * (docs/courier.md#override-display).
 */
export async function overrideCommand(
  session: Session,
  domain: string,
  mode: string,
): Promise<number> {
  const { host } = session;
  if (!(STS_MODES as readonly string[]).includes(mode)) {
    await host.stdout(unknownStsPolicyLine(mode));
    return await showPolicy(session, domain);
  }
  const result = await overrideMode(session.store, domain, mode as StsMode);
  await explain(session, result.warnings);
  if (result.kind === "not-cached") await host.stdout(cachedPolicyNotFoundLine(domain));
  if (result.kind === "unwritable") await host.stdout(noWritePermissionLine(result.path));
  return await showPolicy(session, domain);
}

/**
 * `--sts-expire`, `--sts-cache-disable`, `--sts-cache-enable[=N]`
 * (docs/courier.md#actions-and-exit-status, D10).
 */
export async function maintainCommand(session: Session): Promise<number> {
  const { store, args } = session;
  let failure: StsError | undefined;
  if (args.action === "expire") {
    const result = await expireCache(store);
    await explain(session, result.warnings);
    failure = result.error;
  } else {
    try {
      await setCacheSize(store, args.action === "cache-disable" ? 0 : args.cacheSize);
    } catch (error) {
      if (!(error instanceof StsError)) throw error;
      failure = error;
    }
  }
  if (failure === undefined) return EXIT_OK;
  // Courier's line, `<dir>: <strerror>`, and (D10) exit 1 instead of Courier's 0.
  await session.host.stderr(pathErrorLine(store.dir, causeText(failure)));
  return EXIT_FAILURE;
}
