// Whether init_master's process serves sessions. Haraka sets server.cluster only
// when it forks workers (smtp.ini nodes, server.js createServer), and runs
// init_master only in that master, which serves nobody (its workers run
// init_child); without workers the one process runs init_master and serves all.

/** At init_master: this process is the master of cluster workers (it serves no sessions). */
export function isClusterMaster(server: { cluster?: unknown }): boolean {
  return Boolean(server.cluster)
}
