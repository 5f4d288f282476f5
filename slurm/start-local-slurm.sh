#!/bin/bash
# A single-node Slurm 22.05 for tests, without systemd (run as root; Debian's slurmctld, slurmd,
# slurm-client and munge installed). Prints the state directory; stop with stop-local-slurm.sh DIR.
# Already running (sinfo answers)? Then it does nothing and prints nothing.
set -euo pipefail
if sinfo -h >/dev/null 2>&1; then exit 0; fi
STATE=$(mktemp -d /tmp/ssl-slurm-XXXXXX)
chmod 755 "$STATE"
mkdir -p "$STATE/ctld" "$STATE/d" "$STATE/log" /run/munge /etc/munge /etc/slurm
# munge: a key, its run directory owned by munge, the daemon as munge.
[ -f /etc/munge/munge.key ] || mungekey -c -k /etc/munge/munge.key
chown munge:munge /etc/munge/munge.key /run/munge && chmod 400 /etc/munge/munge.key && chmod 755 /run/munge
if ! pgrep -x munged >/dev/null; then
  runuser -u munge -- /usr/sbin/munged
  cp /run/munge/munged.pid "$STATE/munged.pid" 2>/dev/null || pgrep -x munged > "$STATE/munged.pid"
fi
NODE=$(slurmd -C | head -1 | sed 's/ UpTime=.*//')
HOST=$(hostname -s)
cat > /etc/slurm/slurm.conf <<CONF
ClusterName=ssl-bench-test
SlurmctldHost=$HOST
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
SchedulerType=sched/backfill
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
MailProg=/bin/true
ReturnToService=2
StateSaveLocation=$STATE/ctld
SlurmdSpoolDir=$STATE/d
SlurmctldPidFile=$STATE/slurmctld.pid
SlurmdPidFile=$STATE/slurmd.pid
SlurmctldLogFile=$STATE/log/slurmctld.log
SlurmdLogFile=$STATE/log/slurmd.log
$NODE State=UNKNOWN
PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP OverSubscribe=YES
CONF
slurmctld
slurmd
for _ in $(seq 1 60); do
  if sinfo -h -o %T 2>/dev/null | grep -qE '^idle'; then echo "$STATE"; exit 0; fi
  sleep 0.5
done
echo "Slurm did not come up; logs in $STATE/log" >&2
cat "$STATE"/log/*.log >&2 || true
exit 1
