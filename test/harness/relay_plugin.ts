// auth_relay as its hooks see it, for hook tests: its parsed auth_relay.ini, one fake
// directory behind both of its handles (so `state` counts the searches of either),
// and every log line it writes collected in `logs`.
import assert from 'node:assert/strict'
import { parseDirectoryConfig } from '../../lib/ldap/config'
import { DirectoryHandle } from '../../lib/ldap/handle'
import { parseRelayConfig } from '../../lib/relay/config'
import type { AuthRelay } from '../../plugins/auth_relay/state'
import { fakeDirectory, type FakeEntry } from './fake_directory'

export function fakeRelayPlugin(
  ini: Record<string, Record<string, string>>,
  entries: FakeEntry[],
  props: Record<string, unknown> = {},
) {
  const parsed = parseRelayConfig(ini)
  assert.ok(parsed.ok, parsed.ok ? '' : parsed.errors.join())
  const dir = parseDirectoryConfig({
    main: { base_dn: 'ou=people,dc=example,dc=com', bind_dn: 'cn=x', bind_password: 'x' },
  })
  assert.ok(dir.ok)
  const { dir: fake, state } = fakeDirectory(dir.cfg, entries)
  const logs: string[] = []
  const log = (msg: string) => void logs.push(msg)
  const plugin = {
    name: 'auth_relay',
    cfg: parsed.cfg,
    dirCfg: dir.cfg,
    directory: new DirectoryHandle(() => fake),
    recipients: new DirectoryHandle(() => fake),
    grantFile: undefined,
    localDomains: new Set(['example.com']),
    logdebug: log,
    loginfo: log,
    lognotice: log,
    logwarn: log,
    logerror: log,
    ...props,
  } as unknown as AuthRelay
  plugin.directory.update(dir.cfg)
  plugin.recipients.update(dir.cfg)
  return { plugin, state, logs, dirCfg: dir.cfg }
}
