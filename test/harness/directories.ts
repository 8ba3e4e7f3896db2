// Directory clients for tests against a throwaway slapd: a validated
// ldap_directory.ini configuration with the demo service account and short
// timeouts, and a tracker that closes every client a test file opened.
import { parseDirectoryConfig, type DirectoryConfig } from '../../lib/ldap/config'
import { createDirectory, type LdapDirectory } from '../../lib/ldap/directory'

export const SERVICE_ACCOUNT = {
  bind_dn: 'cn=haraka,ou=services,dc=example,dc=com',
  bind_password: 'haraka-service-secret',
  base_dn: 'ou=people,dc=example,dc=com',
} as const

/** The config a test would write in ldap_directory.ini; throws with the schema's errors when invalid. */
export function testDirectoryConfig(
  servers: string,
  overrides: Record<string, unknown> = {},
): DirectoryConfig {
  const r = parseDirectoryConfig({
    main: { servers, ...SERVICE_ACCOUNT, timeout: 2000, connect_timeout: 1000, ...overrides },
  })
  if (!r.ok) throw new Error(r.errors.join('; '))
  return r.cfg
}

/** Opens directories for one test file; closeAll() in after() leaves no connection open. */
export class TestDirectories {
  private readonly opened: LdapDirectory[] = []

  open(servers: string, overrides: Record<string, unknown> = {}): LdapDirectory {
    const d = createDirectory(testDirectoryConfig(servers, overrides))
    this.opened.push(d)
    return d
  }

  async closeAll(): Promise<void> {
    await Promise.all(this.opened.splice(0).map((d) => d.close()))
  }
}
