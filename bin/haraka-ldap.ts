#!/usr/bin/env node
// haraka-ldap: the operator's command line for these plugins, over the same
// config/ as Haraka (read without Haraka, lib/config/read_dir). Every subcommand
// takes --config DIR and --json; exit 0 ok, 1 refused or problem found, 2 usage
// or configuration error. No secret is ever printed, and a password is never an
// argument (a prompt without echo, or the first line of stdin).
import { parseArgs } from 'node:util'
import { configDir, EXIT, processIo, refusePasswordOption, UsageError, type Io } from './cli/common'
import { lintConfig, lintExitCode, renderLint } from './cli/lint'
import { checkSender, renderSender } from './cli/sender'
import {
  listSuspendedCommand,
  releaseCommand,
  renderList,
  renderRelease,
  renderSuspend,
  suspendCommand,
} from './cli/suspended'
import { renderTest, testLogin } from './cli/test_login'
import {
  flushCacheCommand,
  listBansCommand,
  releaseBansCommand,
  renderBans,
  renderFlush,
  renderLimits,
  renderReleaseBans,
  showLimitsCommand,
} from './cli/bans'
import { main as hashPassword } from './hash_password'
import { main as tryMessage } from './try'
import { main as verifyStamp } from './verify-stamp'

const USAGE = `Usage: haraka-ldap <command> [options]

  test <login>              run one AUTH attempt as ldap_auth would, and explain it
                            (password from the prompt, without echo, or stdin)
      --authzid <id>        PLAIN authorization identity (proxy logins)
      --rip <ip>            the client address the AUTH limiter keys on
      --dry-run             (the default) count nothing; no bind when the limiter would refuse
  sender <login> <address>  may this login use this address as MAIL FROM, From, Sender
                            (<login> as the session knows it, '' or '<>' for the null sender)
  lint                      report everything in config/ weaker than the safe defaults
      --strict              fail on notices too
  suspended list            the logins containment has suspended: who, since when, why
  suspended release <login> lift a login's suspension or deferral (and reset its counts)
  suspend <login>           suspend a login: no relay at all until released
      --reason <text>       why (shown in the listing and the 550 log line)
  bans list                 the AUTH limiter's bans in force: address, subnet, pair; until when
  bans release <target>     lift bans: <ip> (its own and its pairs), <cidr>, a ban key,
                            or a <login> (its pairs, and its failures are forgiven)
  limits show <ip|login>    the limiter's counts, bans, familiar sources; a login's containment
  cache flush [login]       empty ldap_auth's credential cache (of one login) in every process
                            (these talk to each running Haraka's admin socket)
  hash-password --login L   a SHA512-crypt line for auth_enc_file.ini
  verify-stamp <file.eml>   check a saved message's signed stamp
  try [options]             submit a test message to the local instance

Options of test, sender, lint, suspended, suspend, bans, limits and cache:
  --config <dir>            the Haraka config folder (default: ./config)
  --json                    one JSON document on stdout instead of text
  --help                    this help

Exit status: 0 ok, 1 refused or problem found, 2 usage or configuration error.
`

type Run = (io: Io, argv: string[]) => Promise<number>

const COMMON = {
  config: { type: 'string' },
  json: { type: 'boolean', default: false },
  help: { type: 'boolean', default: false },
} as const

function parsed<O extends Record<string, { type: 'string' | 'boolean'; default?: string | boolean }>>(
  argv: string[],
  options: O,
) {
  try {
    return parseArgs({ args: argv, options: { ...COMMON, ...options }, allowPositionals: true, strict: true })
  } catch (err) {
    throw new UsageError((err as Error).message)
  }
}

function emit(io: Io, json: boolean, value: unknown, text: string): void {
  io.out(json ? `${JSON.stringify(value, null, 2)}\n` : text)
}

/** One action of a subcommand: what it does over the config folder, and its report as text. */
interface Action<R, A extends unknown[]> {
  run(dir: string, ...args: A): Promise<{ report: R; code: number }>
  render(report: R): string
}

/** `<command> list` or `<command> release <target>` (suspended, bans); anything else is `usage`. */
async function listOrRelease<L, R>(
  io: Io,
  argv: string[],
  how: { list: Action<L, []>; release: Action<R, [string]>; usage: string },
): Promise<number> {
  const args = parsed(argv, {})
  if (args.values.help) return help(io)
  const [action, ...rest] = args.positionals
  const dir = configDir(args.values.config)
  if (action === 'list' && !rest.length) {
    const { report, code } = await how.list.run(dir)
    emit(io, args.values.json, report, how.list.render(report))
    return code
  }
  if (action === 'release' && rest.length === 1) {
    const { report, code } = await how.release.run(dir, rest[0]!)
    emit(io, args.values.json, report, how.release.render(report))
    return code
  }
  throw new UsageError(how.usage)
}

const COMMANDS: Record<string, Run> = {
  async test(io, argv) {
    refusePasswordOption(argv)
    const args = parsed(argv, {
      authzid: { type: 'string' },
      rip: { type: 'string' },
      'dry-run': { type: 'boolean', default: true },
    })
    if (args.values.help) return help(io)
    if (args.positionals.length !== 1) throw new UsageError('test takes one login')
    const { report, code } = await testLogin(io, configDir(args.values.config), args.positionals[0]!, {
      authzid: args.values.authzid,
      rip: args.values.rip,
    })
    emit(io, args.values.json, report, renderTest(report))
    return code
  },
  async sender(io, argv) {
    const args = parsed(argv, {})
    if (args.values.help) return help(io)
    if (args.positionals.length !== 2) throw new UsageError('sender takes a login and an address')
    const [login, address] = args.positionals as [string, string]
    const { report, code } = await checkSender(configDir(args.values.config), login, address)
    emit(io, args.values.json, report, renderSender(report))
    return code
  },
  async lint(io, argv) {
    const args = parsed(argv, { strict: { type: 'boolean', default: false } })
    if (args.values.help) return help(io)
    if (args.positionals.length) throw new UsageError('lint takes no arguments')
    const dir = configDir(args.values.config)
    const findings = lintConfig(dir)
    const code = lintExitCode(findings, args.values.strict)
    emit(io, args.values.json, { config: dir, findings, exit: code }, renderLint(findings))
    return code
  },
  suspended: (io, argv) =>
    listOrRelease(io, argv, {
      list: { run: listSuspendedCommand, render: renderList },
      release: { run: releaseCommand, render: renderRelease },
      usage: 'suspended takes list, or release <login>',
    }),
  async suspend(io, argv) {
    const args = parsed(argv, { reason: { type: 'string' } })
    if (args.values.help) return help(io)
    if (args.positionals.length !== 1) throw new UsageError('suspend takes one login')
    const dir = configDir(args.values.config)
    const { report, code } = await suspendCommand(dir, args.positionals[0]!, args.values.reason)
    emit(io, args.values.json, report, renderSuspend(report))
    return code
  },
  bans: (io, argv) =>
    listOrRelease(io, argv, {
      list: { run: listBansCommand, render: renderBans },
      release: { run: releaseBansCommand, render: renderReleaseBans },
      usage: 'bans takes list, or release <ip|cidr|key|login>',
    }),
  async limits(io, argv) {
    const args = parsed(argv, {})
    if (args.values.help) return help(io)
    const [action, ...rest] = args.positionals
    if (action !== 'show' || rest.length !== 1) throw new UsageError('limits takes show <ip|login>')
    const { report, code } = await showLimitsCommand(configDir(args.values.config), rest[0]!)
    emit(io, args.values.json, report, renderLimits(report))
    return code
  },
  async cache(io, argv) {
    const args = parsed(argv, {})
    if (args.values.help) return help(io)
    const [action, ...rest] = args.positionals
    if (action !== 'flush' || rest.length > 1) throw new UsageError('cache takes flush [login]')
    const { report, code } = await flushCacheCommand(configDir(args.values.config), rest[0])
    emit(io, args.values.json, report, renderFlush(report))
    return code
  },
  'hash-password': (_io, argv) => hashPassword(argv),
  'verify-stamp': async (_io, argv) => verifyStamp(argv),
  try: (_io, argv) => tryMessage(argv),
}

function help(io: Io): number {
  io.out(USAGE)
  return EXIT.OK
}

export async function main(io: Io, argv: string[]): Promise<number> {
  const [command, ...rest] = argv
  if (command === undefined || command === '--help' || command === '-h' || command === 'help') {
    if (command === undefined) {
      io.err(USAGE)
      return EXIT.USAGE
    }
    return help(io)
  }
  const run = COMMANDS[command]
  const json = rest.includes('--json')
  try {
    if (!run) throw new UsageError(`unknown command ${JSON.stringify(command)}`)
    return await run(io, rest)
  } catch (err) {
    if (!(err instanceof UsageError)) throw err
    if (json) io.out(`${JSON.stringify({ error: err.message }, null, 2)}\n`)
    io.err(`haraka-ldap ${command}: ${err.message}\n${json ? '' : `\n${USAGE}`}`)
    return EXIT.USAGE
  }
}

if (require.main === module)
  main(processIo, process.argv.slice(2)).then(
    (code) => (process.exitCode = code),
    (err: Error) => {
      process.stderr.write(`haraka-ldap: ${err.stack ?? err.message}\n`)
      process.exitCode = EXIT.USAGE
    },
  )
