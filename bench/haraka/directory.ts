// The bench's directory: N users (uid=u00001 … with mail u00001@example.com and a
// password of their own), a group that lists every user except every 10th, and the
// same users for Haraka's auth/flat_file. Pure: text in, text out.

export const BENCH_BASE_DN = 'ou=people,dc=example,dc=com'
export const BENCH_GROUP_DN = 'cn=bench-senders,ou=groups,dc=example,dc=com'
export const BENCH_SERVICE = {
  dn: 'cn=haraka,ou=services,dc=example,dc=com',
  password: 'haraka-service-secret',
}

export interface BenchUser {
  uid: string
  login: string
  password: string
  /** listed in BENCH_GROUP_DN */
  member: boolean
}

/** User i (1-based); every 10th user is not in the group. */
export function benchUser(i: number): BenchUser {
  const uid = `u${String(i).padStart(5, '0')}`
  return { uid, login: `${uid}@example.com`, password: `pw-${uid}-bench`, member: i % 10 !== 0 }
}

export function benchUsers(count: number): BenchUser[] {
  return Array.from({ length: count }, (_, i) => benchUser(i + 1))
}

export function benchLdif(users: readonly BenchUser[]): string {
  const blocks = [
    'dn: dc=example,dc=com\nobjectClass: top\nobjectClass: dcObject\nobjectClass: organization\no: Example Corp\ndc: example',
    `dn: ${BENCH_BASE_DN}\nobjectClass: organizationalUnit\nou: people`,
    'dn: ou=groups,dc=example,dc=com\nobjectClass: organizationalUnit\nou: groups',
    'dn: ou=services,dc=example,dc=com\nobjectClass: organizationalUnit\nou: services',
    `dn: ${BENCH_SERVICE.dn}\nobjectClass: organizationalRole\nobjectClass: simpleSecurityObject\ncn: haraka\nuserPassword: ${BENCH_SERVICE.password}`,
  ]
  for (const u of users)
    blocks.push(
      `dn: uid=${u.uid},${BENCH_BASE_DN}\nobjectClass: inetOrgPerson\nuid: ${u.uid}\ncn: User ${u.uid}\nsn: ${u.uid}\nmail: ${u.login}\nuserPassword: ${u.password}`,
    )
  const members = users.filter((u) => u.member).map((u) => `member: uid=${u.uid},${BENCH_BASE_DN}`)
  blocks.push(`dn: ${BENCH_GROUP_DN}\nobjectClass: groupOfNames\ncn: bench-senders\n${members.join('\n')}`)
  return `${blocks.join('\n\n')}\n`
}

/** config/auth_flat_file.ini for Haraka's auth/flat_file with the same users. */
export function flatFileIni(users: readonly BenchUser[]): string {
  return [
    '[core]',
    'methods=PLAIN,LOGIN',
    '',
    '[users]',
    ...users.map((u) => `${u.login}=${u.password}`),
    '',
  ].join('\n')
}
