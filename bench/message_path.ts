// npm run bench:message — the message path of our plugins in one process, without
// Haraka's I/O, its own hook machinery or log writes: for each session a fresh
// (haraka-test-fixtures) connection authenticated as ldap_auth leaves it (the login's
// entry noted), then auth_stamp's MAIL hook, auth_relay's MAIL (containment gate and
// sender ownership), RCPT (relay decision and containment count), auth_stamp's DATA
// watch over the lines of a 1 KB message, then at data_post the bare-CR gate,
// auth_relay's header alignment and auth_stamp's stamp, with the shipped defaults.
// Prints CPU µs per message (process.cpuUsage) over what the fixtures alone cost, median
// of the rounds: steady to about ±5 µs, where the Haraka bench's CPU per session moves
// by ±0.1 ms on a shared machine. Run the same file from another checkout's dist for a
// before/after. Parameters: --messages=N per round (10000), --rounds=N (7), --logins=N
// (5000: each sends a few, under the default containment budgets).
import { Address } from '@haraka/email-address'
import type { Connection } from 'haraka'
import { DirectoryHandle } from '../lib/ldap/handle'
import { loginEntryKey } from '../lib/ldap/login_entry'
import { parseStampConfig } from '../lib/stamp/config'
import { noteLoginEntry } from '../haraka/notes'
import * as relay from '../plugins/auth_relay/hooks'
import * as stamp from '../plugins/auth_stamp/hooks'
import type { AuthStamp } from '../plugins/auth_stamp/plugin'
import { fakeDirectory, fakeDirectoryConfig, must } from '../test/harness/fake_directory'
import { fakeRelayPlugin } from '../test/harness/relay_plugin'

const fixtures = require('haraka-test-fixtures') as { connection: { createConnection(): any } }

const arg = (name: string, fallback: number) => {
  const m = process.argv.find((a) => a.startsWith(`--${name}=`))
  const v = m ? Number(m.split('=')[1]) : fallback
  if (!Number.isFinite(v) || v <= 0) throw new Error(`--${name} must be a positive number`)
  return v
}
const MESSAGES = arg('messages', 10_000)
const ROUNDS = arg('rounds', 7)
const LOGINS = arg('logins', 5_000)

const dirCfg = fakeDirectoryConfig()
const nothing = () => undefined
const server = { notes: {} as Record<string, unknown> }
// No entries: the login's entry is known from AUTH, so a search would be a bug of the bench (MAIL refused).
const { dir: emptyDirectory } = fakeDirectory(dirCfg, [])
const noDirectory = () => emptyDirectory
// no-op logs: the fake's own would collect every line inside the measured loop
const { plugin: relayPlugin } = fakeRelayPlugin({ main: {} }, [], {
  timeout: 30,
  harakaServer: server,
  logdebug: nothing,
  loginfo: nothing,
  lognotice: nothing,
  logwarn: nothing,
  logerror: nothing,
})
const stampPlugin = {
  name: 'auth_stamp',
  timeout: 30,
  cfg: must(parseStampConfig({})),
  dirCfg: undefined,
  directory: new DirectoryHandle(noDirectory as never),
} as unknown as AuthStamp

const body = 'x'.repeat(70)
function lines(login: string, n: number): Buffer[] {
  const head = [
    `From: ${login}`,
    'To: someone@example.net',
    `Subject: bench ${n}`,
    `Date: ${new Date().toUTCString()}`,
    `Message-ID: <${n}.${Date.now()}@client.example.net>`,
    'MIME-Version: 1.0',
    'Content-Type: text/plain; charset=utf-8',
    '',
  ]
  const out = [...head]
  while (out.join('\r\n').length < 1024) out.push(body)
  return out.map((l) => Buffer.from(`${l}\r\n`))
}

function session(login: string): Connection & Record<string, any> {
  const c = fixtures.connection.createConnection()
  c.server = server
  c.remote.ip = '192.0.2.9'
  c.local.ip = '127.0.0.1'
  c.local.port = 587
  c.local.host = 'mail.example.com'
  for (const l of ['logdebug', 'loginfo', 'lognotice', 'logwarn', 'logerror']) c[l] = nothing
  c.notes.auth_user = login
  c.notes.auth_method = 'PLAIN'
  noteLoginEntry(c, {
    key: loginEntryKey(dirCfg),
    login,
    entry: { dn: `uid=${login.split('@')[0]},ou=people,dc=example,dc=com`, attributes: { mail: [login] } },
    read: ['mail'],
  })
  return c
}

type Hook = (this: unknown, next: (code?: number, msg?: unknown) => void, c: unknown, p?: unknown) => void
function run(fn: unknown, plugin: unknown, c: unknown, params?: unknown): Promise<number | undefined> {
  return new Promise((resolve) => (fn as Hook).call(plugin, (code) => resolve(code), c, params))
}

async function message(n: number): Promise<void> {
  const login = `u${String((n % LOGINS) + 1).padStart(5, '0')}@example.com`
  const c = session(login)
  const from = new Address(`<${login}>`)
  c.init_transaction()
  const txn = c.transaction as any
  txn.mail_from = from
  await run(stamp.name_in_received, stampPlugin, c, [from, {}])
  if ((await run(relay.sender_gate, relayPlugin, c, [from, {}])) !== undefined)
    throw new Error('MAIL refused')
  const rcpt = new Address('<someone@example.net>')
  await run(relay.relay_gate, relayPlugin, c, [rcpt])
  txn.rcpt_to.push(rcpt)
  await run(stamp.watch_bare_cr, stampPlugin, c)
  for (const line of lines(login, n)) txn.add_data(line)
  await new Promise<void>((resolve) => txn.end_data(resolve))
  for (const [fn, plugin] of [
    [stamp.bare_cr_gate, stampPlugin],
    [relay.header_gate, relayPlugin],
    [stamp.stamp_message, stampPlugin],
  ] as const)
    if ((await run(fn, plugin, c)) !== undefined) throw new Error(`data_post refused by ${plugin.name}`)
  if (n === 0) checkFirst(c)
}

/** The first message must have gone the whole way: sender owned, relayed, aligned, stamped. */
function checkFirst(c: Connection & Record<string, any>): void {
  const relayed = JSON.stringify(c.results.get('auth_relay')?.pass ?? [])
  const stamped = JSON.stringify(c.transaction!.results.get('auth_stamp')?.pass ?? [])
  for (const [what, got, want] of [
    ['auth_relay', relayed, 'sender('],
    ['auth_relay', relayed, 'rcpt(authenticated)'],
    ['auth_relay', relayed, 'header('],
    ['auth_stamp', stamped, 'stamp(identity)'],
  ])
    if (!got!.includes(want!)) throw new Error(`${what} results ${got} lack ${want}: not the path measured`)
}

/** The same session work without our hooks: what the fixtures themselves cost, subtracted. */
async function bare(n: number): Promise<void> {
  const login = `u${String((n % LOGINS) + 1).padStart(5, '0')}@example.com`
  const c = session(login)
  c.init_transaction()
  const txn = c.transaction as any
  txn.mail_from = new Address(`<${login}>`)
  txn.rcpt_to.push(new Address('<someone@example.net>'))
  for (const line of lines(login, n)) txn.add_data(line)
  await new Promise<void>((resolve) => txn.end_data(resolve))
  void txn.header.header_list
}

async function measure(fn: (n: number) => Promise<void>): Promise<number> {
  const start = process.cpuUsage()
  for (let i = 0; i < MESSAGES; i++) await fn(i)
  const used = process.cpuUsage(start)
  return (used.user + used.system) / MESSAGES
}

async function main(): Promise<void> {
  for (let i = 0; i < 5000; i++) await message(i) // warm-up: JIT, the store's keys
  for (let i = 0; i < 2000; i++) await bare(i)
  const ours: number[] = []
  const base: number[] = []
  for (let r = 0; r < ROUNDS; r++) {
    ours.push(await measure(message))
    base.push(await measure(bare))
  }
  const med = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!
  const added = ours.map((v, i) => v - base[i]!)
  console.log(
    `message path, ${MESSAGES} messages × ${ROUNDS} rounds, Node ${process.version}: ` +
      `${med(added).toFixed(1)} µs CPU per message (median; lowest ${Math.min(...added).toFixed(1)}; rounds ` +
      `${added.map((v) => v.toFixed(1)).join(', ')}); ` +
      `fixtures alone ${med(base).toFixed(1)} µs`,
  )
}

void main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err)
    process.exit(1)
  },
)
