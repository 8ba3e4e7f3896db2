// Packs what an operator installs into an existing Haraka: one haraka-plugin-<name> package per
// plugin (Haraka finds `<name>` in config/plugins at $HARAKA/node_modules/haraka-plugin-<name>),
// each with its README and example ini files, and the shared core they all depend on
// (haraka-ldap-submission-core: the compiled lib/, haraka/, the plugins' hooks and the
// haraka-ldap CLI). Versions and dependency ranges come from the root package.json.
//
//   npm run pack [-- <out dir>]     (default: ./packages/dist)
//
// Run after `npm run build`; it stages each package under a temp dir and runs `npm pack` there.
import { execFileSync } from 'node:child_process'
import { builtinModules } from 'node:module'
import {
  cpSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'

// dist/packages -> repo root
const REPO = path.resolve(__dirname, '../..')

export const CORE = 'haraka-ldap-submission-core'

/** The core's runtime dependencies (checked against what its compiled files require). */
const CORE_DEPENDENCIES = [
  '@haraka/email-address',
  'haraka-constants',
  'haraka-dsn',
  'ipaddr.js',
  'ldapts',
  'redis',
  'prom-client',
]

/** Haraka versions the plugins are tested with; a peer, because the plugins run inside it. */
const HARAKA_PEER = '^3.3.4'

export interface PluginPackage {
  /** the name in config/plugins */
  plugin: string
  description: string
  /** the example ini files it reads, from config/, in the order to copy and edit them */
  ini: string[]
}

export const PLUGINS: readonly PluginPackage[] = [
  {
    plugin: 'ldap_auth',
    description: 'SMTP AUTH PLAIN/LOGIN against an LDAP directory, TLS only (Haraka plugin)',
    ini: ['ldap_directory.ini', 'ldap_auth.ini', 'auth_limits.ini', 'auth_enc_file.ini', 'shared_state.ini'],
  },
  {
    plugin: 'auth_relay',
    description:
      'Relay only for authenticated clients (or trusted networks), and only as senders the LDAP directory says they own (Haraka plugin)',
    ini: ['ldap_directory.ini', 'auth_relay.ini', 'shared_state.ini'],
  },
  {
    plugin: 'auth_stamp',
    description:
      'Stamp mail from authenticated sessions with the login, and strip client-forged copies of the stamp (Haraka plugin)',
    ini: ['auth_stamp.ini', 'ldap_directory.ini'],
  },
  {
    plugin: 'auth_metrics',
    description:
      'Prometheus/OpenMetrics metrics of ldap_auth, auth_relay and auth_stamp, summed over Haraka workers (Haraka plugin)',
    ini: ['auth_metrics.ini'],
  },
]

interface RootPackage {
  version: string
  license: string
  engines: { node: string }
  dependencies: Record<string, string>
}

function rootPackage(): RootPackage {
  return JSON.parse(readFileSync(path.join(REPO, 'package.json'), 'utf8')) as RootPackage
}

/** The `## ` or `### ` section of README.md whose heading starts with `heading`, up to the next one of its level or above. */
export function readmeSection(readme: string, heading: string): string {
  const lines = readme.split('\n')
  const start = lines.findIndex((line) => line.startsWith(heading))
  if (start < 0) throw new Error(`README.md has no section ${JSON.stringify(heading)}`)
  const level = /^#+/.exec(heading)?.[0].length ?? 2
  let end = lines.length
  for (let i = start + 1; i < lines.length; i++) {
    const m = /^(#+) /.exec(lines[i] ?? '')
    if (m && (m[1]?.length ?? 0) <= level) {
      end = i
      break
    }
  }
  return lines.slice(start, end).join('\n').trimEnd()
}

/** A plugin package's README: install, the options of its ini files, replies, results (from README.md). */
export function pluginReadme(pkg: PluginPackage, readme: string): string {
  const install = readmeSection(readme, '## Using the plugins in your own Haraka').replace(
    /^## .*/,
    '## Install',
  )
  const options = pkg.ini.map((ini) => readmeSection(readme, `### \`config/${ini}\``))
  const lower = (s: string) => s.replace(/^## /, '### ')
  return [
    `# haraka-plugin-${pkg.plugin}`,
    '',
    `${pkg.description}. Part of a set: \`ldap_auth\` (AUTH), \`auth_relay\` (relay and`,
    'sender ownership), `auth_stamp` (the sender stamp), and `auth_metrics` (their metrics,',
    `optional); the shared code is in \`${CORE}\`, installed with them.`,
    '',
    install,
    '',
    '## Configuration',
    '',
    `The example files are in this package's \`config/\`; copy them into your instance's \`config/\` and edit them.`,
    '',
    ...options.map((o) => o.replace(/^### /gm, '### ') + '\n'),
    lower(readmeSection(readme, '## Replies')),
    '',
    lower(readmeSection(readme, '## Results')),
    '',
  ].join('\n')
}

/**
 * The example ini a package ships, from the demo's config/<name>.ini with every active setting
 * commented out. Haraka reads a package plugin's config/ as defaults under the instance's own
 * files, key by key, so an active demo value (the demo's directory URL, service password,
 * submission ports) would silently apply wherever the operator leaves a key out. A commented
 * password keeps no value.
 */
export function exampleIni(text: string, pkg: string): string {
  const body = text
    .split('\n')
    .map((line) => {
      const m = /^(\s*)([A-Za-z0-9_.-]+)\s*=(.*)$/.exec(line)
      if (!m) return line
      return /password/.test(m[2] ?? '') ? `;${m[2]}=` : `;${m[2]}=${m[3]}`
    })
    .join('\n')
  return (
    `; Example for ${pkg}: copy it to your Haraka's config/ and edit it. Commented lines show the\n` +
    `; default, or an example value where a key has none (see README.md).\n` +
    body
  )
}

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .map((f) => path.join(dir, f))
    .filter((f) => statSync(f).isFile())
}

/** Bare module names the compiled files require that are neither builtins nor relative. */
export function requiredPackages(dir: string): Set<string> {
  const found = new Set<string>()
  for (const file of filesUnder(dir).filter((f) => f.endsWith('.js'))) {
    for (const m of readFileSync(file, 'utf8').matchAll(/require\("([^".][^"]*)"\)/g)) {
      const spec = m[1] ?? ''
      if (spec.startsWith('node:') || builtinModules.includes(spec)) continue
      found.add(spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : (spec.split('/')[0] ?? spec))
    }
  }
  return found
}

function npmPack(dir: string, outDir: string): string {
  const out = execFileSync('npm', ['pack', '--json', '--pack-destination', outDir], {
    cwd: dir,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  const [info] = JSON.parse(out) as Array<{ filename: string }>
  if (!info) throw new Error(`npm pack in ${dir} printed nothing`)
  return path.join(outDir, info.filename)
}

function stageCore(stage: string, root: RootPackage): void {
  const dist = path.join(REPO, 'dist')
  const copy = (rel: string) =>
    cpSync(path.join(dist, rel), path.join(stage, 'dist', rel), {
      recursive: true,
      filter: (src) => !src.endsWith('.map'),
    })
  // haraka-ldap and its subcommands (try speaks SMTP through demo/smtp_client: builtins only)
  for (const rel of [
    'lib',
    'haraka',
    'bin/cli',
    'bin/haraka-ldap.js',
    'bin/hash_password.js',
    'bin/verify-stamp.js',
    'bin/try.js',
    'demo/smtp_client.js',
  ])
    copy(rel)
  for (const p of PLUGINS) copy(`plugins/${p.plugin}`)

  const needed = requiredPackages(path.join(stage, 'dist'))
  const missing = [...needed].filter((n) => !CORE_DEPENDENCIES.includes(n))
  if (missing.length) throw new Error(`${CORE} requires packages it does not declare: ${missing.join(', ')}`)
  const dependencies: Record<string, string> = {}
  for (const name of CORE_DEPENDENCIES) {
    const range = root.dependencies[name]
    if (!range) throw new Error(`package.json has no dependency ${name}`)
    dependencies[name] = range
  }
  const pkg = {
    name: CORE,
    version: root.version,
    description:
      'The shared core of haraka-plugin-ldap_auth, haraka-plugin-auth_relay and haraka-plugin-auth_stamp: LDAP directory client, policies, Haraka adapter, and the haraka-ldap operator CLI',
    license: root.license,
    engines: root.engines,
    bin: { 'haraka-ldap': 'dist/bin/haraka-ldap.js' },
    files: ['dist', 'README.md'],
    dependencies,
    peerDependencies: { Haraka: HARAKA_PEER },
    peerDependenciesMeta: { Haraka: { optional: true } },
  }
  writeFileSync(path.join(stage, 'package.json'), JSON.stringify(pkg, null, 2) + '\n')
  writeFileSync(
    path.join(stage, 'README.md'),
    `# ${CORE}\n\nThe shared code of the Haraka plugins haraka-plugin-ldap_auth, haraka-plugin-auth_relay and\nharaka-plugin-auth_stamp, installed with them; see their READMEs. It also provides the \`haraka-ldap\`\noperator CLI (\`npx haraka-ldap --help\` in your Haraka instance directory).\n`,
  )
}

function stagePlugin(stage: string, p: PluginPackage, root: RootPackage, readme: string): void {
  mkdirSync(path.join(stage, 'config'), { recursive: true })
  for (const ini of p.ini)
    writeFileSync(
      path.join(stage, 'config', ini),
      exampleIni(readFileSync(path.join(REPO, 'config', ini), 'utf8'), `haraka-plugin-${p.plugin}`),
    )
  writeFileSync(
    path.join(stage, 'index.js'),
    `// Haraka loads this package for \`${p.plugin}\` in config/plugins; the hooks are in the shared core.\n` +
      `module.exports = require('${CORE}/dist/plugins/${p.plugin}/hooks.js')\n`,
  )
  const pkg = {
    name: `haraka-plugin-${p.plugin}`,
    version: root.version,
    description: p.description,
    license: root.license,
    keywords: ['haraka', 'haraka-plugin', 'ldap', 'smtp', 'submission'],
    engines: root.engines,
    main: 'index.js',
    files: ['index.js', 'config', 'README.md'],
    dependencies: { [CORE]: root.version },
    peerDependencies: { Haraka: HARAKA_PEER },
    peerDependenciesMeta: { Haraka: { optional: true } },
  }
  writeFileSync(path.join(stage, 'package.json'), JSON.stringify(pkg, null, 2) + '\n')
  writeFileSync(path.join(stage, 'README.md'), pluginReadme(p, readme))
}

/** Packs the core and the three plugin packages into outDir; returns the tarball paths (core first). */
export function packAll(outDir: string): string[] {
  const root = rootPackage()
  const readme = readFileSync(path.join(REPO, 'README.md'), 'utf8')
  mkdirSync(outDir, { recursive: true })
  const staging = mkdtempSync(path.join(tmpdir(), 'haraka-ldap-pack-'))
  try {
    const core = path.join(staging, CORE)
    stageCore(core, root)
    const tarballs = [npmPack(core, outDir)]
    for (const p of PLUGINS) {
      const dir = path.join(staging, `haraka-plugin-${p.plugin}`)
      stagePlugin(dir, p, root, readme)
      tarballs.push(npmPack(dir, outDir))
    }
    return tarballs
  } finally {
    rmSync(staging, { recursive: true, force: true })
  }
}

/** The core's dependencies and theirs, as name@version from package-lock.json. */
export function coreDependencyClosure(): string[] {
  const lock = JSON.parse(readFileSync(path.join(REPO, 'package-lock.json'), 'utf8')) as {
    packages: Record<string, { version?: string; dependencies?: Record<string, string> }>
  }
  const seen = new Map<string, string>()
  const queue = [...CORE_DEPENDENCIES]
  for (let name = queue.shift(); name !== undefined; name = queue.shift()) {
    if (seen.has(name)) continue
    const entry = lock.packages[`node_modules/${name}`]
    if (!entry?.version) throw new Error(`package-lock.json has no top-level ${name}`)
    seen.set(name, entry.version)
    queue.push(...Object.keys(entry.dependencies ?? {}))
  }
  return [...seen].map(([name, version]) => `${name}@${version}`)
}

/**
 * Test setup: make the npm cache hold what installing the tarballs resolves (full packuments and
 * tarballs of the core's dependencies), so the install test runs with --offline. Installing from
 * a lockfile caches only tarballs, and npm resolves a tarball's dependencies from full packuments.
 * Asks the registry only when the cache lacks one.
 */
export function fillNpmCache(): void {
  const specs = coreDependencyClosure()
  const add = (offline: boolean) =>
    execFileSync('npm', ['cache', 'add', ...(offline ? ['--offline'] : []), ...specs], { stdio: 'pipe' })
  try {
    add(true)
  } catch {
    console.error(`pack: filling the npm cache with ${specs.join(' ')}`)
    add(false)
  }
}

if (require.main === module) {
  if (process.argv[2] === '--fill-cache') fillNpmCache()
  else {
    const out = path.resolve(process.argv[2] ?? path.join(REPO, 'packages/dist'))
    for (const tgz of packAll(out)) console.log(tgz)
  }
}
