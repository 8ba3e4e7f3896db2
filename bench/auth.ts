// npm run bench: AUTH verdicts per second against a throwaway slapd, without
// and with the credential cache, the directory connections each run opened,
// and the CPU cost of a SHA512-crypt check for local users. Loopback only;
// bounded in count; prints a table. Verdicts come from createAuthenticator, as
// ldap_auth's do.
import { createAuthenticator } from '../lib/authn/authenticator'
import { parseAuthConfig } from '../lib/authn/config'
import { parseLocalUsers } from '../lib/authn/local_users'
import { sha512crypt } from '../lib/authn/sha512crypt'
import { parseDirectoryConfig } from '../lib/ldap/config'
import { must } from '../test/harness/fake_directory'
import { startSlapd } from '../test/harness/slapd'
import { closedLoop } from './haraka/load'
import { table } from './haraka/stats'
import { DEMO_LDIF } from '../test/harness/stack'

const ATTEMPTS = Number(process.env.BENCH_ATTEMPTS ?? 2000)
const CONCURRENCY = 8
const ALICE = { authcid: 'alice@example.com', authzid: '', password: 'wonderland-42' }

const authConfig = (main: Record<string, unknown> = {}) => must(parseAuthConfig({ main }))

async function main(): Promise<void> {
  const slapd = await startSlapd({ ldif: [DEMO_LDIF] })
  const accepted = () => (slapd.logTail(10_000_000).match(/ ACCEPT from /g) ?? []).length
  const rows: string[][] = []
  try {
    const dirCfg = must(
      parseDirectoryConfig({
        main: {
          servers: slapd.url,
          bind_dn: 'cn=haraka,ou=services,dc=example,dc=com',
          bind_password: 'haraka-service-secret',
          base_dn: 'ou=people,dc=example,dc=com',
        },
      }),
    )
    for (const [label, cacheTtl] of [
      ['directory (search + bind)', 0],
      ['cache_ttl=60 (hits after the first)', 60],
    ] as const) {
      const auth = authConfig({ cache_ttl: cacheTtl })
      const authenticator = createAuthenticator({ directory: dirCfg, auth })
      const before = accepted()
      let left = ATTEMPTS
      let ok = 0
      const seconds = await closedLoop(
        CONCURRENCY,
        () => left-- > 0,
        async () => {
          if ((await authenticator.verify(ALICE)).outcome === 'OK') ok++
        },
      )
      await authenticator.close()
      await new Promise((r) => setTimeout(r, 200))
      rows.push([
        label,
        String(ATTEMPTS),
        String(ok),
        (ATTEMPTS / seconds).toFixed(0),
        ((seconds * 1000 * CONCURRENCY) / ATTEMPTS).toFixed(2),
        String(accepted() - before),
      ])
    }
    // Sanity: the benchmark measured real binds.
    const check = createAuthenticator({ directory: dirCfg, auth: authConfig() })
    if ((await check.verify({ ...ALICE, password: 'wrong' })).outcome !== 'PASSWORD_MISMATCH')
      throw new Error('wrong password accepted')
    await check.close()
  } finally {
    await slapd.dispose()
  }

  const local = must(parseLocalUsers({ users: { 'svc@example.com': sha512crypt('pw', { rounds: 5000 }) } }))
  const n = 100
  let t = process.hrtime.bigint()
  for (let i = 0; i < n; i++) local.verify('svc@example.com', 'pw')
  const known = Number(process.hrtime.bigint() - t) / 1e6 / n
  t = process.hrtime.bigint()
  for (let i = 0; i < n; i++) local.verify('nobody@example.com', 'pw')
  const unknown = Number(process.hrtime.bigint() - t) / 1e6 / n

  const header = ['run', 'attempts', 'ok', 'auth/s', 'ms each', 'LDAP connections opened']
  console.log(
    `\nAUTH verdicts, ${CONCURRENCY} in parallel, one process, slapd on loopback (pool_size=2, bind_pool_size=4):\n`,
  )
  console.log(table(header, rows))
  console.log(
    `\nlocal users (SHA512-crypt, 5000 rounds, on the event loop): known login ${known.toFixed(2)} ms, unknown login ${unknown.toFixed(2)} ms per check\n`,
  )
}

main().catch((err) => {
  console.error(err)
  process.exit(1)
})
