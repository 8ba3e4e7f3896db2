// A throwaway Redis for integration tests: its own temp dir, a free 127.0.0.1
// port, no persistence (--save '' --appendonly no), stopped by PID.
import { spawn, type ChildProcess } from 'node:child_process'
import { closeSync, existsSync, mkdtempSync, openSync, readFileSync, rmSync, statSync } from 'node:fs'
import net from 'node:net'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { findBinary } from './slapd'
import { freePort } from './ports'

export interface RedisServer {
  port: number
  url: string
  /** the unix socket it also listens on (0700 folder: only this user) */
  socketPath: string
  /** PID of the running redis-server; 0 while stopped. */
  pid: number
  dir: string
  /** One command, RESP-encoded, answered as the raw reply text (e.g. "+OK\r\n"). */
  command(...args: string[]): Promise<string>
  /** SIGTERM, SIGKILL after 5 s; resolves once the process has exited. Idempotent. */
  stop(): Promise<void>
  signal(sig: NodeJS.Signals): void
  /** Start again after stop(), on the same port (data is gone: no persistence). */
  start(): Promise<void>
  /** Stop for good and remove the temp dir. Idempotent. */
  dispose(): Promise<void>
  logTail(lines?: number): string
}

const READY_TIMEOUT_MS = 10_000
const PORT_ATTEMPTS = 3
/** redis-server logs this once it listens: the port is then ours. */
const READY = /Ready to accept connections/
const PORT_TAKEN = /already in use/i

/** redis-server did not start; `portTaken` when it could not bind its port (another process has it). */
class StartError extends Error {
  constructor(
    message: string,
    readonly portTaken: boolean,
  ) {
    super(message)
    this.name = 'StartError'
  }
}
const STOP_GRACE_MS = 5_000

// Safety net: a crashed test process must not leave redis-server running.
const running = new Set<ChildProcess>()
process.once('exit', () => {
  for (const child of running) child.kill('SIGKILL')
})

/** Send one command in RESP and read until a complete simple reply, error, integer or bulk string. */
export function redisCommand(port: number, args: string[], timeoutMs = 2000): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: '127.0.0.1', port })
    let data = ''
    const done = (err: Error | null, value?: string) => {
      socket.destroy()
      if (err) reject(err)
      else resolve(value ?? '')
    }
    socket.setTimeout(timeoutMs, () => done(new Error(`redis on ${port}: no reply within ${timeoutMs} ms`)))
    socket.once('error', (err) => done(err))
    socket.on('data', (chunk) => {
      data += chunk.toString('utf8')
      const bulk = /^\$(-?\d+)\r\n/.exec(data)
      if (bulk) {
        const len = Number(bulk[1])
        if (len < 0 || data.length >= bulk[0].length + len + 2) done(null, data)
      } else if (/^[+\-:].*\r\n/.test(data)) {
        done(null, data)
      }
    })
    socket.write(`*${args.length}\r\n${args.map((a) => `$${Buffer.byteLength(a)}\r\n${a}\r\n`).join('')}`)
  })
}

export interface RedisOptions {
  /** Where the port comes from (default ./ports freePort); a test of the port race injects a taken one. */
  freePort?: () => Promise<number>
}

export async function startRedis(opts: RedisOptions = {}): Promise<RedisServer> {
  const bin = findBinary('redis-server')
  const dir = mkdtempSync(path.join(tmpdir(), 'redis-test-'))
  const logFile = path.join(dir, 'redis.log')
  let child: ChildProcess | undefined
  let exited: Promise<void> = Promise.resolve()
  let disposed = false
  /** where this run's lines start in the log */
  let logStart = 0

  const spawnRedis = (port: number) => {
    logStart = existsSync(logFile) ? statSync(logFile).size : 0
    const log = openSync(logFile, 'a')
    const args = [
      '--port',
      String(port),
      '--bind',
      '127.0.0.1',
      '--save',
      '',
      '--appendonly',
      'no',
      '--dir',
      dir,
      '--daemonize',
      'no',
      '--unixsocket',
      path.join(dir, 'redis.sock'),
      '--unixsocketperm',
      '700',
    ]
    const proc = spawn(bin, args, { stdio: ['ignore', log, log], cwd: dir })
    closeSync(log)
    running.add(proc)
    child = proc
    exited = new Promise((resolve) => {
      const gone = () => {
        running.delete(proc)
        if (child === proc) child = undefined
        resolve()
      }
      proc.once('exit', gone)
      proc.once('error', gone)
    })
  }

  const logTail = (lines = 20) => {
    try {
      return readFileSync(logFile, 'utf8').trimEnd().split('\n').slice(-lines).join('\n')
    } catch {
      return ''
    }
  }

  const logSince = () => {
    try {
      return readFileSync(logFile).subarray(logStart).toString('utf8')
    } catch {
      return ''
    }
  }

  const stop = async () => {
    const proc = child
    if (!proc) return exited
    proc.kill('SIGCONT')
    proc.kill('SIGTERM')
    const timer = setTimeout(() => proc.kill('SIGKILL'), STOP_GRACE_MS)
    await exited
    clearTimeout(timer)
  }

  const server: RedisServer = {
    port: 0,
    url: '',
    socketPath: path.join(dir, 'redis.sock'),
    get pid() {
      return child?.pid ?? 0
    },
    dir,
    command: (...args) => redisCommand(server.port, args),
    stop,
    signal(sig) {
      if (child) child.kill(sig)
    },
    async start() {
      if (disposed) throw new Error('redis was disposed')
      if (child) return
      spawnRedis(server.port)
      const deadline = Date.now() + READY_TIMEOUT_MS
      // Ready when OUR redis-server says it listens, answers PING and still runs: the free port
      // may have been taken between the probe and its bind, and another server there is not ours.
      const exitedError = () =>
        new StartError(`redis-server exited during startup:\n${logTail()}`, PORT_TAKEN.test(logSince()))
      for (;;) {
        if (!child) throw exitedError()
        const pong = READY.test(logSince())
          ? await redisCommand(server.port, ['PING'], 500).catch(() => '')
          : ''
        if (pong.startsWith('+PONG')) {
          if (!child) throw exitedError()
          return
        }
        if (Date.now() > deadline) {
          await stop()
          throw new Error(
            `redis-server not ready on ${server.port} after ${READY_TIMEOUT_MS} ms:\n${logTail()}`,
          )
        }
        await sleep(50)
      }
    },
    async dispose() {
      disposed = true
      await stop()
      rmSync(dir, { recursive: true, force: true })
    },
    logTail,
  }

  try {
    for (let attempt = 1; ; attempt++) {
      server.port = await (opts.freePort ?? freePort)()
      server.url = `redis://127.0.0.1:${server.port}`
      try {
        await server.start()
        return server
      } catch (err) {
        if (!(err instanceof StartError && err.portTaken)) throw err
        if (attempt >= PORT_ATTEMPTS)
          throw new Error(
            `redis-server got no port of its own after ${attempt} attempts (last ${server.port}: in use by another process):\n${logTail(5)}`,
          )
      }
    }
  } catch (err) {
    await server.dispose()
    throw err
  }
}
