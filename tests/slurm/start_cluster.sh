#!/usr/bin/env bash
# Start a one-node SLURM cluster on this machine (for tests/test_slurm.py and for trying the
# slurm profile). Needs root and Debian/Ubuntu packages; no systemd needed.
#
# Idempotent: packages are installed only when missing, the config is rewritten only when it
# changes (daemons are then restarted), running daemons are left alone, and the script returns
# once `sinfo` shows the node idle. Run it as often as you like.
#
#   tests/slurm/start_cluster.sh            # install + configure + start, prints timings
#   tests/slurm/stop_cluster.sh             # stop the daemons again
#
# Design (see tests/slurm/README.md): no cgroups (proctrack/linuxproc, task/none), no slurmdbd
# (accounting_storage/none, so `sacct` has no data); completed jobs are recorded by
# jobcomp/filetxt in $SLURM_JOBCOMP_LOG; MinJobAge=300 so `squeue --states=all` still shows a
# job 5 min after it ended (the executor plugin's squeue status command relies on this).
set -euo pipefail

NODE="$(hostname -s)"
CLUSTER_NAME="${SLURM_CLUSTER_NAME:-localcluster}"
PARTITION="${SLURM_PARTITION:-debug}"
CONF_DIR=/etc/slurm
LOG_DIR=/var/log/slurm
STATE_DIR=/var/lib/slurm
RUN_DIR=/run/slurm
JOBCOMP_LOG="${SLURM_JOBCOMP_LOG:-$LOG_DIR/jobcomp.log}"
WAIT_SECONDS="${SLURM_WAIT_SECONDS:-60}"

if [ "$(id -u)" -ne 0 ]; then
  echo "start_cluster.sh: must run as root" >&2
  exit 1
fi

t0=$(date +%s.%N)
tphase=$t0
elapsed() { awk -v a="$1" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }'; }
phase_done() { echo "  [$(elapsed "$tphase") s] $1"; tphase=$(date +%s.%N); }

# --- 1. packages ----------------------------------------------------------------------------
pkgs=(munge slurmctld slurmd slurm-client)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  # policy-rc.d 101: the packages' init scripts must not try to start daemons during install.
  policy=/usr/sbin/policy-rc.d
  created_policy=0
  if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\nexit 101\n' >"$policy" && chmod +x "$policy" && created_policy=1
  fi
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  [ "$created_policy" = 1 ] && rm -f "$policy"
fi
phase_done "packages ($(dpkg-query -W -f='${Version}' slurmctld), munge $(dpkg-query -W -f='${Version}' munge))"

# --- 2. munge -------------------------------------------------------------------------------
id munge >/dev/null 2>&1 || { echo "user munge missing after install" >&2; exit 1; }
install -d -o munge -g munge -m 0700 /etc/munge /var/lib/munge /var/log/munge
install -d -o munge -g munge -m 0755 /run/munge
if [ ! -s /etc/munge/munge.key ]; then
  if command -v mungekey >/dev/null; then
    mungekey --create --keyfile=/etc/munge/munge.key
  else
    dd if=/dev/urandom of=/etc/munge/munge.key bs=1024 count=1 status=none
  fi
fi
chown munge:munge /etc/munge/munge.key
chmod 0400 /etc/munge/munge.key
if ! munge -n 2>/dev/null | unmunge >/dev/null 2>&1; then
  rm -f /run/munge/munged.pid
  runuser -u munge -- /usr/sbin/munged
  for _ in $(seq 50); do munge -n 2>/dev/null | unmunge >/dev/null 2>&1 && break; sleep 0.1; done
  munge -n | unmunge >/dev/null
fi
phase_done "munged running"

# --- 3. slurm.conf --------------------------------------------------------------------------
SLURM_USER=slurm
id "$SLURM_USER" >/dev/null 2>&1 || SLURM_USER=root
install -d -o "$SLURM_USER" -m 0755 "$LOG_DIR" "$STATE_DIR" "$STATE_DIR/slurmctld" "$RUN_DIR"
install -d -o root -m 0755 "$STATE_DIR/slurmd" "$CONF_DIR"

# The node's real hardware as slurmd sees it (CPUs, sockets, cores, threads, RealMemory);
# configuring more than that would drain the node. Keep 5 % of the memory for the system.
hw="$(slurmd -C | head -1)"
cpus="$(sed -n 's/.*CPUs=\([0-9]*\).*/\1/p' <<<"$hw")"
boards="$(sed -n 's/.*Boards=\([0-9]*\).*/\1/p' <<<"$hw")"
sockets="$(sed -n 's/.*SocketsPerBoard=\([0-9]*\).*/\1/p' <<<"$hw")"
cores="$(sed -n 's/.*CoresPerSocket=\([0-9]*\).*/\1/p' <<<"$hw")"
threads="$(sed -n 's/.*ThreadsPerCore=\([0-9]*\).*/\1/p' <<<"$hw")"
realmem="$(sed -n 's/.*RealMemory=\([0-9]*\).*/\1/p' <<<"$hw")"
realmem=$(( realmem * 95 / 100 ))

new_conf="$(mktemp)"
trap 'rm -f "$new_conf"' EXIT
cat >"$new_conf" <<EOF
# Written by tests/slurm/start_cluster.sh: single-node test cluster, no cgroups, no slurmdbd.
ClusterName=$CLUSTER_NAME
SlurmctldHost=$NODE(127.0.0.1)
SlurmUser=$SLURM_USER
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
MpiDefault=none
SwitchType=switch/none
# No cgroups and no systemd: track processes by parent pid, no task confinement.
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
# No slurmdbd: sacct has nothing to show. Finished jobs go to a text file instead.
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/filetxt
JobCompLoc=$JOBCOMP_LOG
# Keep finished jobs in slurmctld memory (and thus in squeue --states=all) for 5 minutes.
MinJobAge=300
ReturnToService=2
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
DefMemPerCPU=1000
SlurmctldPort=6817
SlurmdPort=6818
StateSaveLocation=$STATE_DIR/slurmctld
SlurmdSpoolDir=$STATE_DIR/slurmd
SlurmctldPidFile=$RUN_DIR/slurmctld.pid
SlurmdPidFile=$RUN_DIR/slurmd.pid
SlurmctldLogFile=$LOG_DIR/slurmctld.log
SlurmdLogFile=$LOG_DIR/slurmd.log
SlurmctldDebug=info
SlurmdDebug=info
SlurmctldTimeout=30
SlurmdTimeout=60
InactiveLimit=0
KillWait=10
Waittime=0
NodeName=$NODE NodeAddr=127.0.0.1 CPUs=$cpus Boards=$boards SocketsPerBoard=$sockets CoresPerSocket=$cores ThreadsPerCore=$threads RealMemory=$realmem State=UNKNOWN
PartitionName=$PARTITION Nodes=$NODE Default=YES MaxTime=INFINITE State=UP
EOF

changed=0
if ! cmp -s "$new_conf" "$CONF_DIR/slurm.conf"; then
  install -m 0644 "$new_conf" "$CONF_DIR/slurm.conf"
  changed=1
fi
# cgroup.conf is only read by cgroup plugins, which this config does not load; write a
# minimal one so nothing falls back to guessing.
if [ ! -e "$CONF_DIR/cgroup.conf" ]; then
  printf '# Written by tests/slurm/start_cluster.sh: cgroup plugins are not used.\nCgroupPlugin=autodetect\n' >"$CONF_DIR/cgroup.conf"
fi
touch "$JOBCOMP_LOG"
chown "$SLURM_USER" "$JOBCOMP_LOG"
phase_done "slurm.conf ($( [ $changed = 1 ] && echo written || echo unchanged )): $NODE CPUs=$cpus RealMemory=${realmem}M partition=$PARTITION"

# --- 4. daemons -----------------------------------------------------------------------------
running() {  # running <pidfile>
  [ -s "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null
}
stop_daemon() {  # stop_daemon <pidfile>
  if running "$1"; then
    local pid; pid="$(cat "$1")"
    kill "$pid"
    for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  fi
  rm -f "$1"
}
if [ $changed = 1 ]; then
  stop_daemon "$RUN_DIR/slurmd.pid"
  stop_daemon "$RUN_DIR/slurmctld.pid"
fi
if ! running "$RUN_DIR/slurmctld.pid"; then
  slurmctld
fi
for _ in $(seq 100); do scontrol ping >/dev/null 2>&1 && break; sleep 0.2; done
if ! running "$RUN_DIR/slurmd.pid"; then
  slurmd
fi
phase_done "slurmctld + slurmd started"

# --- 5. wait for the node -------------------------------------------------------------------
deadline=$(( $(date +%s) + WAIT_SECONDS ))
state=""
while :; do
  state="$(sinfo -h -n "$NODE" -o '%T' 2>/dev/null | head -1 || true)"
  case "$state" in
    idle|mixed|allocated|completing) break ;;
    down*|drain*|drained*)
      # left over from an earlier run (e.g. the config changed): bring it back
      scontrol update NodeName="$NODE" State=RESUME >/dev/null 2>&1 || true ;;
  esac
  if [ "$(date +%s)" -ge "$deadline" ]; then
    echo "node $NODE not idle after ${WAIT_SECONDS}s (state: '${state}')" >&2
    sinfo -R >&2 || true
    tail -n 20 "$LOG_DIR/slurmctld.log" "$LOG_DIR/slurmd.log" >&2 || true
    exit 1
  fi
  sleep 0.5
done
phase_done "node $NODE $state"
sinfo
echo "SLURM cluster '$CLUSTER_NAME' ready in $(elapsed "$t0") s (jobcomp log: $JOBCOMP_LOG)"
