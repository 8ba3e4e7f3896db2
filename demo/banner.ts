// The text `npm start` prints once everything listens: ports, demo logins, and
// lines to copy. Demo users come from the LDIF the demo directory serves.
import type { InstanceInfo } from './instance'
import { attributeValues, type LdifEntry } from './ldif'

interface DemoUser {
  uid: string
  mail: string[]
  password: string
}

export function demoUsers(entries: readonly LdifEntry[]): DemoUser[] {
  return entries
    .filter((e) => /^uid=[^,]+,ou=people,/i.test(e.dn))
    .map((e) => ({
      uid: attributeValues(e, 'uid')[0] ?? '',
      mail: attributeValues(e, 'mail'),
      password: attributeValues(e, 'userPassword')[0] ?? '',
    }))
}

export function banner(info: InstanceInfo, entries: readonly LdifEntry[], mailDir: string): string {
  const ports = info.listeners.map((l) => l.port)
  const submission = ports.find((p) => p !== info.smtpsPort && p !== ports[0]) ?? ports[0]
  const users = demoUsers(entries)
  const alice = users[0]
  const login = alice?.mail[0] ?? alice?.uid ?? 'user'
  const pass = alice?.password ?? 'password'
  const bob = users[1]?.mail[0] ?? 'someone-else@example.com'
  const portLine = (port: number | undefined) => {
    if (port === info.smtpsPort) return `${port}  submission, implicit TLS (RFC 8314): AUTH, then relay`
    if (port === submission) return `${port}  submission, STARTTLS: AUTH required before MAIL`
    return `${port}  inbound (like port 25): local delivery, no AUTH, no relaying`
  }
  return [
    '',
    '==============================================================================',
    ` Haraka with ldap_auth, auth_relay and auth_stamp is running on ${info.host}`,
    '==============================================================================',
    ...ports.map((p) => `  ${info.host}:${portLine(p)}`),
    `  directory: ${info.ldapUrl}${info.demoLdap ? ' (embedded demo directory)' : ''}`,
    `  delivered mail: ${mailDir}/<id>.eml (+ <id>.json envelope); nothing leaves this machine`,
    '',
    ' Demo logins (login by uid or address; password):',
    ...users.map((u) => `  ${u.uid.padEnd(6)} ${u.mail.join(', ').padEnd(44)} ${u.password}`),
    '',
    ' Try it:',
    `  npm run try -- --port ${submission} --user ${login} --pass ${pass} --from ${login} --to friend@remote.example`,
    `  npm run try -- --implicit-tls --port ${info.smtpsPort} --user ${login} --pass ${pass} --from ${login} --to friend@remote.example`,
    `  npm run try -- --port ${submission} --user ${login} --pass ${pass} --from ${bob} --to friend@remote.example   # refused: not ${alice?.uid}'s address`,
    `  swaks --server ${info.host}:${submission} --tls --auth PLAIN --auth-user ${login} --auth-password ${pass} --from ${login} --to friend@remote.example`,
    `  openssl s_client -starttls smtp -connect ${info.host}:${submission} -crlf -quiet`,
    '',
    ' Ctrl-C stops Haraka and the demo directory.',
    '',
  ].join('\n')
}
