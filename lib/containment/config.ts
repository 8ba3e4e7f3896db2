// Containment of a compromised account (auth_relay.ini [main], the keys below):
// per-login budgets over sliding windows, and what crossing one does. The keys
// are part of auth_relay's spec (lib/relay/config spreads CONTAIN_SPEC into it),
// so the ini, the README and this file are drift-tested together.
import type { SectionSpec } from '../config/schema'

/** The budgets, in the order they are judged; each counts one thing per login over its window. */
export const BUDGETS = [
  'messages_per_minute',
  'messages_per_day',
  'recipients_per_day',
  'external_recipients_per_day',
  'external_domains_per_day',
  'refused_recipients_per_day',
] as const

export type Budget = (typeof BUDGETS)[number]

const MINUTE = 60_000
const DAY = 24 * 3600 * 1000

/** What a budget counts, and over how long (a sliding window). */
export const BUDGET_DEFS: Record<Budget, { windowMs: number; counts: string; window: string }> = {
  messages_per_minute: { windowMs: MINUTE, counts: 'messages', window: '1 min' },
  messages_per_day: { windowMs: DAY, counts: 'messages', window: '24 h' },
  recipients_per_day: { windowMs: DAY, counts: 'recipients', window: '24 h' },
  external_recipients_per_day: { windowMs: DAY, counts: 'distinct external recipients', window: '24 h' },
  external_domains_per_day: { windowMs: DAY, counts: 'distinct external recipient domains', window: '24 h' },
  refused_recipients_per_day: { windowMs: DAY, counts: 'refused recipients', window: '24 h' },
}

const limit = (def: number) => ({ type: 'int', default: def, min: 0, max: 10_000_000 }) as const

const BUDGET_NAME = new RegExp(`^(${BUDGETS.join('|')})$`)

export const CONTAIN_SPEC = {
  containment: { type: 'enum', default: 'enforce', values: ['enforce', 'observe', 'off'] },
  // Exchange Online: 30 messages a minute, 10 000 recipients a day; Google Workspace: 2 000
  // messages a day, 3 000 external recipients a day. 0 turns one budget off.
  contain_messages_per_minute: limit(30),
  contain_messages_per_day: limit(2000),
  contain_recipients_per_day: limit(10_000),
  contain_external_recipients_per_day: limit(3000),
  contain_external_domains_per_day: limit(300),
  contain_refused_recipients_per_day: limit(100),
  contain_suspend_on: {
    type: 'list',
    default: [],
    item: BUDGET_NAME,
    hint: `one of ${BUDGETS.join(', ')}`,
  },
  admin_socket_dir: { type: 'string', default: 'run', pattern: /^[^\0]*$/, hint: 'a folder' },
} satisfies SectionSpec

/** admin_socket_dir's value for no socket (an empty value is the default, as for every option). */
export const NO_ADMIN_SOCKET = 'none'

/** The part of auth_relay's config that containment reads. */
export interface ContainConfig {
  readonly mode: 'enforce' | 'observe' | 'off'
  /** budget -> limit; a budget set to 0 is absent */
  readonly limits: ReadonlyMap<Budget, number>
  /** the budgets whose crossing suspends the login; the others defer it for their window */
  readonly suspendOn: ReadonlySet<Budget>
}

type ContainValues = {
  readonly containment: string
  readonly contain_suspend_on: readonly string[]
} & { readonly [K in `contain_${Budget}`]: number }

export function containConfig(v: ContainValues): ContainConfig {
  const limits = new Map<Budget, number>()
  for (const b of BUDGETS) if (v[`contain_${b}`] > 0) limits.set(b, v[`contain_${b}`])
  return Object.freeze({
    mode: v.containment as ContainConfig['mode'],
    limits,
    suspendOn: new Set(v.contain_suspend_on as Budget[]),
  })
}

/** Settings that weaken containment, logged at every load (and reported by `haraka-ldap lint`). */
export function containWarnings(cfg: ContainConfig): string[] {
  if (cfg.mode === 'off') return ['containment=off: a stolen login may relay without any budget']
  const w: string[] = []
  if (cfg.mode === 'observe') w.push('containment=observe: crossed budgets are logged but nothing is refused')
  for (const b of BUDGETS)
    if (!cfg.limits.has(b))
      w.push(`contain_${b}=0: that containment budget is off (${BUDGET_DEFS[b].counts})`)
  return w
}
