# shellcheck shell=bash disable=SC2034 # sourced by bench/run.sh
# The trivial route: what echobase's router and middleware cost on top of bare
# hyper, with next to no handler work.
DESCRIPTION="the trivial route"
METHOD=GET
ECHOBASE_PATH=/healthz
BASELINE_PATH=/
