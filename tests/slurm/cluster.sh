#!/usr/bin/env bash
# A real one-node SLURM cluster on 127.0.0.1 for the tests: munged, slurmctld and slurmd from
# Debian's packages, no cgroups, no systemd, no accounting database.
#
#   tests/slurm/cluster.sh up      install (root, apt) if needed, write slurm.conf, start, wait idle
#   tests/slurm/cluster.sh down    stop exactly the daemons `up` started (by their PIDs)
#   tests/slurm/cluster.sh status  what runs, and the node's state
#
# It refuses to touch a SLURM it did not start: `up` stops if a munged/slurmctld/slurmd is already
# running or /etc/slurm/slurm.conf was written by someone else, and `down` signals only the PIDs
# recorded by `up`. State, logs and PIDs live in $SLURM_TEST_STATE (default /tmp/diiqn-slurm).
# Why the settings: docs/cluster.md (the accounting-less squeue path, MinJobAge); EnforcePartLimits
# makes a job that asks for more than the node has fail at submission instead of pending forever.
set -euo pipefail

STATE=${SLURM_TEST_STATE:-/tmp/diiqn-slurm}
CONF=/etc/slurm/slurm.conf
MARK="# written by diiqn-suite tests/slurm/cluster.sh"
PACKAGES=(slurmctld slurmd slurm-client munge)
DAEMONS=(slurmd slurmctld munged)  # stop order: node, controller, then authentication

die() { echo "cluster.sh: $*" >&2; exit 1; }

alive() { [[ -f "$STATE/$1.pid" ]] && kill -0 "$(cat "$STATE/$1.pid")" 2>/dev/null; }

ours_running() {
    local name
    for name in "${DAEMONS[@]}"; do alive "$name" && return 0; done
    return 1
}

all_ours_running() {
    local name
    for name in "${DAEMONS[@]}"; do alive "$name" || return 1; done
    return 0
}

install_packages() {
    local missing=()
    for binary in /usr/sbin/slurmctld /usr/sbin/slurmd /usr/bin/sbatch /usr/sbin/munged; do
        [[ -x $binary ]] || missing+=("$binary")
    done
    [[ ${#missing[@]} -eq 0 ]] && return 0
    command -v apt-get >/dev/null || die "no apt-get to install ${PACKAGES[*]}"
    echo "cluster.sh: installing ${PACKAGES[*]}" >&2
    apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
        "${PACKAGES[@]}" >/dev/null
}

write_conf() {
    if [[ -f $CONF ]] && ! grep -qF "$MARK" "$CONF"; then
        die "$CONF exists and was not written by this script; refusing to replace it"
    fi
    local host node mem_kb
    host=$(hostname -s)
    # The node's topology as slurmd sees it, with 90 % of the memory (the rest for the daemons).
    node=$(/usr/sbin/slurmd -C | head -1 | sed -e 's/ RealMemory=[0-9]*//')
    mem_kb=$(awk '/^MemTotal/ {print $2}' /proc/meminfo)
    install -d -o slurm -g slurm "$STATE/ctld" "$STATE/spool"
    install -d /etc/slurm
    cat >"$CONF.tmp" <<EOF
$MARK
ClusterName=diiqntest
SlurmctldHost=$host(127.0.0.1)
AuthType=auth/munge
CredType=cred/munge
SlurmUser=slurm
SlurmctldPort=6817
SlurmdPort=6818
StateSaveLocation=$STATE/ctld
SlurmdSpoolDir=$STATE/spool
SlurmctldPidFile=$STATE/ctld/slurmctld.pidfile
SlurmdPidFile=$STATE/slurmd.pidfile
SlurmctldLogFile=$STATE/slurmctld.log
SlurmdLogFile=$STATE/slurmd.log
MailProg=/bin/true
MpiDefault=none
SwitchType=switch/none
# No cgroups: works in containers and sandboxes.
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
# No slurmdbd: sacct does not work, squeue does (the profile polls squeue).
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
# Reject at submission (instead of pending forever) a job that can never fit the node.
EnforcePartLimits=ALL
ReturnToService=2
# Finished jobs stay visible to 'squeue --states=all' this long; the plugin's poll interval can
# grow to 180 s, and a job gone from squeue before the poll would look still running. An hour,
# not SLURM's 300 s: tests/test_slurm.py reads every run's job state after the whole workflow,
# which took over 5 min on two busy cores, and with 300 s the first runs had left squeue.
MinJobAge=3600
KillWait=5
$node RealMemory=$(( mem_kb * 9 / 10 / 1024 )) NodeAddr=127.0.0.1 State=UNKNOWN
PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP
EOF
    mv "$CONF.tmp" "$CONF"
}

start() {  # start NAME COMMAND...: a daemon in the foreground of its own session, its PID kept
    local name=$1; shift
    setsid nohup "$@" >"$STATE/$name.out" 2>&1 </dev/null &
    echo $! >"$STATE/$name.pid"
}

up() {
    [[ $(id -u) -eq 0 ]] || die "must run as root (it installs packages and starts daemons)"
    if all_ours_running; then echo "cluster.sh: already up"; return 0; fi
    # Some of ours alive, not all (a test run killed midway, say, leaves munged): a controller
    # missing would fail every job, so stop what is left and start the three again.
    if ours_running; then echo "cluster.sh: partly up: restarting"; down; fi
    local name
    for name in munged slurmctld slurmd; do
        pgrep -x "$name" >/dev/null && die "a $name that this script did not start is running"
    done
    install_packages
    mkdir -p "$STATE"
    write_conf
    install -d -o munge -g munge -m 0755 /run/munge
    start munged setpriv --reuid=munge --regid=munge --init-groups /usr/sbin/munged --foreground
    for _ in $(seq 50); do munge -n 2>/dev/null | unmunge >/dev/null 2>&1 && break; sleep 0.1; done
    start slurmctld /usr/sbin/slurmctld -D
    start slurmd /usr/sbin/slurmd -D
    local state=""
    for _ in $(seq 120); do
        state=$(sinfo --noheader --format=%T 2>/dev/null || true)
        [[ $state == idle ]] && { echo "cluster.sh: up ($(hostname -s) idle)"; return 0; }
        sleep 0.5
    done
    echo "cluster.sh: node not idle after 60 s (state: '${state}'); logs in $STATE" >&2
    down
    exit 1
}

down() {
    local name pid
    for name in "${DAEMONS[@]}"; do
        [[ -f "$STATE/$name.pid" ]] || continue
        pid=$(cat "$STATE/$name.pid")
        if kill -0 "$pid" 2>/dev/null; then
            kill -TERM "$pid"
            for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
            kill -0 "$pid" 2>/dev/null && kill -KILL "$pid"
        fi
        rm -f "$STATE/$name.pid"
    done
    echo "cluster.sh: down"
}

status() {
    local name
    for name in munged slurmctld slurmd; do
        if alive "$name"; then echo "$name: running (pid $(cat "$STATE/$name.pid"))"
        else echo "$name: not running (or not started by this script)"; fi
    done
    alive slurmctld && sinfo
    return 0
}

case ${1:-} in
    up) up ;;
    down) down ;;
    status) status ;;
    *) die "usage: $0 up|down|status" ;;
esac
