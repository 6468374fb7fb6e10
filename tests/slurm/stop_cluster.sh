#!/usr/bin/env bash
# Stop the one-node SLURM cluster started by tests/slurm/start_cluster.sh (slurmd, slurmctld,
# munged), by the pids in their pid files. Packages, config and logs stay; start again with
# start_cluster.sh. Running jobs are killed. Safe to run when nothing is running.
set -uo pipefail

if [ "$(id -u)" -ne 0 ]; then
  echo "stop_cluster.sh: must run as root" >&2
  exit 1
fi

stop() {  # stop <name> <pidfile>
  local name="$1" pidfile="$2" pid
  if [ -s "$pidfile" ] && pid="$(cat "$pidfile")" && kill -0 "$pid" 2>/dev/null; then
    kill "$pid"
    for _ in $(seq 150); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    if kill -0 "$pid" 2>/dev/null; then
      echo "$name ($pid) did not stop on SIGTERM; sending SIGKILL"
      kill -9 "$pid" 2>/dev/null
    fi
    echo "stopped $name ($pid)"
  else
    echo "$name not running"
  fi
  rm -f "$pidfile"
}

# Cancel jobs first so slurmd does not leave job steps behind.
if command -v scancel >/dev/null && scontrol ping >/dev/null 2>&1; then
  scancel --user=root >/dev/null 2>&1 || true
fi
stop slurmd /run/slurm/slurmd.pid
stop slurmctld /run/slurm/slurmctld.pid
if [ "${1:-}" != "--keep-munge" ]; then
  stop munged /run/munge/munged.pid
fi
