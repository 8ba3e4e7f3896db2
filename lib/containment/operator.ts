// The operator's commands on containment, over any StateStore: list the
// suspended logins, suspend one, release one. The Haraka process serves them on
// its admin socket (haraka/admin_socket) against its own store, so the CLI
// (bin/cli/suspended) acts on exactly the state the plugins read.
import type { StateStore } from '../state/store'
import { hasUnsafeLoginCharacters } from '../text'
import {
  containLogin,
  deferKey,
  gateOps,
  readCounts,
  readGate,
  releaseAllOps,
  type Deferral,
} from './budgets'
import { BUDGET_DEFS, type ContainConfig } from './config'
import {
  parseSuspension,
  readSuspensionOp,
  releaseOps,
  suspendOps,
  SUSPENDED_LISTING,
  type Suspension,
} from './suspension'

/** Every suspension in force, oldest first. Two round trips: the listing, then the records. */
export async function listSuspended(store: StateStore, now: number): Promise<Suspension[]> {
  const [members] = await store.run([{ op: 'members', key: SUSPENDED_LISTING }], now)
  const logins = Array.isArray(members) ? members : []
  if (!logins.length) return []
  const answers = await store.run(logins.map(readSuspensionOp), now)
  const found: Suspension[] = []
  logins.forEach((login, i) => {
    const s = parseSuspension(login, answers[i] ?? null)
    if (s) found.push(s)
  })
  return found.sort((a, b) => a.since - b.since || a.login.localeCompare(b.login))
}

export interface SuspendResult {
  suspension: Suspension
  /** the login was suspended already (the record is replaced by the operator's) */
  already: boolean
}

/** The operator suspends a login: no relay at all until released. */
export async function suspendLogin(
  store: StateStore,
  login: string,
  reason: string,
  now: number,
): Promise<SuspendResult> {
  const key = containLogin(login)
  const suspension: Suspension = { login: key, since: now, rule: 'operator', reason }
  const [before] = await store.run([readSuspensionOp(key), ...suspendOps(suspension)], now)
  return { suspension, already: typeof before === 'string' }
}

export interface ReleaseResult {
  login: string
  /** the suspension that was in force, if any */
  released: Suspension | undefined
  /** a deferral (budget crossed) was in force and is lifted */
  deferred: boolean
}

/** The operator releases a login: suspension, deferral and counts are cleared in one batch. */
export async function releaseLogin(store: StateStore, login: string, now: number): Promise<ReleaseResult> {
  const key = containLogin(login)
  const answers = await store.run(
    [readSuspensionOp(key), { op: 'ttl', key: deferKey(key) }, ...releaseOps(key), ...releaseAllOps(key)],
    now,
  )
  return {
    login: key,
    released: parseSuspension(key, answers[0] ?? null),
    deferred: typeof answers[1] === 'number' && answers[1] > 0,
  }
}

/** A login's containment as `haraka-ldap limits show <login>` gives it. */
export interface ContainmentShow {
  login: string
  mode: ContainConfig['mode']
  /** each budget on: the count in its window, the limit */
  budgets: Array<{ budget: string; window: string; count: number; limit: number }>
  suspension: Suspension | null
  deferral: Deferral | null
}

/** The login's counts in every budget, its suspension and its deferral; nothing changes. One round trip. */
export async function showContainment(
  store: StateStore,
  cfg: ContainConfig,
  login: string,
  now: number,
): Promise<ContainmentShow> {
  const key = containLogin(login)
  const counting = readCounts(key, cfg)
  const gate = gateOps(key)
  const answers = await store.run([...gate, ...counting.ops], now)
  const g = readGate(key, answers.slice(0, gate.length))
  const counts = counting.read(answers.slice(gate.length))
  return {
    login: key,
    mode: cfg.mode,
    budgets: [...cfg.limits].map(([budget, limit]) => ({
      budget,
      window: BUDGET_DEFS[budget].window,
      count: counts.get(budget) ?? 0,
      limit,
    })),
    suspension: g.kind === 'suspended' ? g.suspension : null,
    deferral: g.kind === 'deferred' ? g.deferral : null,
  }
}

/** A login or reason from the operator: bounded, printable (it ends up in logs and replies). */
function text(value: unknown, what: string, max: number, required: boolean): string {
  const s = typeof value === 'string' ? value.trim() : ''
  if (!s && required) throw new Error(`${what} is required`)
  if ([...s].length > max) throw new Error(`${what} is longer than ${max} characters`)
  if (hasUnsafeLoginCharacters(s)) throw new Error(`${what} has control characters`)
  return s
}

type Command = (args: Record<string, unknown>) => Promise<unknown>

/**
 * The admin socket's containment commands (lib/admin/socket), over the
 * process's store: `suspended.list`, `suspended.release {login}`, `suspend {login, reason?}`.
 */
export function containmentCommands(
  store: () => StateStore,
  clock: () => number = Date.now,
  /** auth_relay's containment config as it is now: `contain.show {login}` is served with it */
  cfg?: () => ContainConfig,
): Map<string, Command> {
  return new Map<string, Command>([
    ...(cfg
      ? ([
          [
            'contain.show',
            async (args: Record<string, unknown>) =>
              showContainment(store(), cfg(), text(args.login, 'login', 256, true), clock()),
          ],
        ] as Array<[string, Command]>)
      : []),
    ['suspended.list', async () => ({ suspended: await listSuspended(store(), clock()) })],
    [
      'suspended.release',
      async (args: Record<string, unknown>) =>
        releaseLogin(store(), text(args.login, 'login', 256, true), clock()),
    ],
    [
      'suspend',
      async (args: Record<string, unknown>) => {
        const login = text(args.login, 'login', 256, true)
        const reason = text(args.reason, 'reason', 200, false) || 'suspended by the operator'
        return suspendLogin(store(), login, reason, clock())
      },
    ],
  ])
}
