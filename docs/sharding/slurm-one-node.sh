#!/bin/bash
# A throwaway one-node Slurm cluster (Debian's slurm-wlm 22.05 with munge) to try the job array files
# here, as root on a scratch machine or CI runner: it writes /etc/slurm/slurm.conf and /etc/slurm/cgroup.conf.
#   sudo docs/sharding/slurm-one-node.sh start    # about 10 s once the packages are installed
#   sudo docs/sharding/slurm-one-node.sh stop
set -euo pipefail
state=${SLURM_STATE_DIR:-/tmp/bn-lens-slurm}
case "${1:-start}" in
  start)
    command -v slurmctld >/dev/null || DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends slurm-wlm munge
    host=$(hostname -s)
    cpus=$(nproc)
    mkdir -p "$state"/{state,spool,log} /run/munge
    cat > /etc/slurm/slurm.conf <<CONF
ClusterName=bnlens
SlurmctldHost=$host
AuthType=auth/munge
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SlurmUser=root
SlurmdUser=root
StateSaveLocation=$state/state
SlurmdSpoolDir=$state/spool
SlurmctldPidFile=$state/slurmctld.pid
SlurmdPidFile=$state/slurmd.pid
SlurmctldLogFile=$state/log/slurmctld.log
SlurmdLogFile=$state/log/slurmd.log
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
ReturnToService=2
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
MpiDefault=none
NodeName=$host CPUs=$cpus RealMemory=4000 State=UNKNOWN
PartitionName=debug Nodes=$host Default=YES MaxTime=INFINITE State=UP
CONF
    # No cgroup hierarchy is needed (proctrack/linuxproc); v1 without automount lets slurmd start in containers.
    printf 'CgroupPlugin=cgroup/v1\nCgroupAutomount=no\n' > /etc/slurm/cgroup.conf
    [ -s /etc/munge/munge.key ] || { dd if=/dev/urandom of=/etc/munge/munge.key bs=1k count=1 2>/dev/null; chmod 400 /etc/munge/munge.key; }
    chown munge:munge /etc/munge/munge.key /run/munge
    runuser -u munge -- munged
    slurmctld
    slurmd
    for _ in $(seq 30); do
      sinfo -h -o %T | grep -qx idle && { sinfo; exit 0; }
      sleep 1
    done
    echo "slurmd did not become idle; see $state/log/" >&2
    exit 1
    ;;
  stop)
    for f in "$state/slurmd.pid" "$state/slurmctld.pid" /run/munge/munged.pid; do
      [ -f "$f" ] && kill "$(cat "$f")" 2>/dev/null || true
    done
    ;;
  *)
    echo "usage: $0 start|stop" >&2
    exit 2
    ;;
esac
