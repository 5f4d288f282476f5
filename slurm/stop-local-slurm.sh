#!/bin/bash
# Stops what start-local-slurm.sh started, by its pid files: stop-local-slurm.sh STATE_DIR
set -u
STATE=${1:?usage: stop-local-slurm.sh STATE_DIR}
for d in slurmd slurmctld munged; do
  [ -f "$STATE/$d.pid" ] && kill "$(cat "$STATE/$d.pid")" 2>/dev/null
done
exit 0
