#!/bin/bash
# hpcplan batch job (suites: {{suites}}), written by `hpcplan submit`.
# Every value below was validated and quoted by slurm/script.py; change the
# site configuration or the submit options rather than this file.
{{sbatch_lines}}
set -eo pipefail

# Site set-up (module loads, virtual environment) from the site configuration.
{{setup_lines}}

export PYTHONPATH={{pythonpath}}${PYTHONPATH:+:${PYTHONPATH}}
echo "hpcplan: job ${SLURM_JOB_ID:-?} on ${SLURM_JOB_NODELIST:-?} started $(date -u +%FT%T.%NZ)"

# Every rank measures; rank 0 reduces and writes the records. A failing suite
# does not stop the next one; the job exits with the first non-zero status.
rc=0
{{launch_lines}}
printf '%s\n' "$rc" > {{exit_file}}
echo "hpcplan: job ${SLURM_JOB_ID:-?} finished with exit code $rc at $(date -u +%FT%T.%NZ)"
exit "$rc"
