#!/usr/bin/env bash
# The GATOS demo: a complete run on a throwaway repository and a throwaway key home (nothing of yours is touched).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
export PATH="$root/packages/git-gatos/bin:$PATH"
work=$(mktemp -d "${TMPDIR:-/tmp}/gatos-demo-XXXXXX")
export GATOS_HOME="$work/home" GATOS_ACTOR=
# The tampering step forges a commit with plain git, which needs an identity; a fresh machine has none.
export GIT_AUTHOR_NAME="${GIT_AUTHOR_NAME:-GATOS demo}" GIT_AUTHOR_EMAIL="${GIT_AUTHOR_EMAIL:-demo@gatos.invalid}"
export GIT_COMMITTER_NAME="${GIT_COMMITTER_NAME:-GATOS demo}" GIT_COMMITTER_EMAIL="${GIT_COMMITTER_EMAIL:-demo@gatos.invalid}"
trap 'rm -rf "$work"' EXIT
step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
run() { printf '$ %s\n' "$*"; "$@"; }

step "A repository for a lab notebook, shared through a bare repository (git is the network)"
git init -q --bare "$work/shared.git"
git init -q "$work/alice" && cd "$work/alice"
run git gatos init --profile research

step "Keys: private halves stay in \$GATOS_HOME (0600), public halves are published under refs/gatos/trust/keys"
run git gatos key new --actor user:alice
run git gatos key new --actor agent:sensor-1

step "Signed events, appended to per-actor journals"
run git gatos event append --ns lab --actor user:alice --type sample.registered --payload '{"sample":"S-001","volume_ul":250}'
run git gatos event append --ns lab --actor user:alice --type sample.registered --payload '{"sample":"S-002","volume_ul":180}'
printf '%s\n' \
  '{"type":"reading.taken","payload":{"sample":"S-001","temp_mk":293150}}' \
  '{"type":"reading.taken","payload":{"sample":"S-002","temp_mk":293410}}' \
  '{"type":"reading.taken","payload":{"sample":"S-001","temp_mk":293170}}' > "$work/readings.jsonl"
run git gatos event append --ns lab --actor agent:sensor-1 --batch "$work/readings.jsonl"

step "The namespace log, in one order every machine agrees on, paged with stable cursors"
run git gatos log lab --limit 3
next=$(git gatos log lab --limit 3 --json | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(JSON.parse(s).next))')
run git gatos log lab --limit 3 --after "$next"

step "Every signature, chain link and commit checked"
run git gatos event verify lab

step "Fold: a deterministic Lua reducer turns the events into state, with a signed Proof-of-Fold"
run git gatos key new --actor service:folder
run git gatos fold lab --fold "$root/examples/lab-notebook/reducer.lua" --actor service:folder
run git gatos state show lab
run git gatos verify-determinism lab --n 3 --actor service:folder

step "Distribution is plain git: push refs/gatos/* to the shared repository, clone elsewhere, verify there"
run git push -q "$work/shared.git" 'refs/gatos/*:refs/gatos/*'
git init -q "$work/bob" && cd "$work/bob"
run git fetch -q "$work/shared.git" 'refs/gatos/*:refs/gatos/*'
run git gatos event verify lab
run git gatos fold verify refs/gatos/state/lab

step "Tampering is caught: rewrite the last event of a journal with plain git"
ref=refs/gatos/journal/lab/agent/sensor-1
forged=$(git commit-tree "$ref^{tree}" -p "$ref~1" -m "reading.taken (forged)")
git update-ref "$ref" "$forged"
set +e
run git gatos event verify lab
status=$?
set -e
echo "exit status: $status (6 = verification failed)"
[ "$status" -eq 6 ] || { echo "demo: expected verification to fail" >&2; exit 1; }

step "Jobs: submit a program and its inputs to the shared repository; the job id is the manifest's content id"
cd "$work/alice"
run git gatos job submit --remote "$work/shared.git" --program "$root/examples/jobs/word-count.mjs" \
  --input "$root/examples/jobs/sample-a.txt" --input "$root/examples/jobs/sample-b.txt" --arg 3 --actor user:alice
job=$(git gatos job list --remote "$work/shared.git" --json | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(JSON.parse(s).jobs[0].job_id))')

step "A worker on another machine: its own clone, its own key; claims by leased push, runs, commits a signed result"
git init -q "$work/worker" && cd "$work/worker"
git fetch -q "$work/shared.git" 'refs/gatos/*:refs/gatos/*'
run git gatos key new --actor agent:worker-1
run git push -q "$work/shared.git" refs/gatos/trust/keys
run git gatos worker run --remote "$work/shared.git" --until-idle --actor agent:worker-1

step "Anyone can check the Proof-of-Execution offline: program, inputs, outputs, signature, claim chain"
cd "$work/bob"
git fetch -q "$work/shared.git" '+refs/gatos/*:refs/gatos/*'
run git gatos job show "$job"
run git gatos job result "$job" --output counts.json
run git gatos job verify "$job"

step "Done: the demo repositories were in $work and are removed now."
