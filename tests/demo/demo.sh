#!/usr/bin/env bash
# make demo: a short guided tour of amirotd against the bundled EC2 simulator.
# Five instances, one policy from config/, five daily slots run with `amirotd once`,
# then `amirotd list` shows three generations kept and the older ones retired with
# their snapshots; then the service itself runs a few short slots. Everything runs
# on this machine; nothing reaches AWS.
set -euo pipefail
cd "$(dirname "$0")/../.."

AMIROTD=${AMIROTD:-build/amirotd}
PY=/usr/bin/python3
work=$(mktemp -d)
sim_pid=

cleanup() {
        [ -n "$sim_pid" ] && kill "$sim_pid" 2>/dev/null && wait "$sim_pid" 2>/dev/null
        rm -rf "$work"
}
trap cleanup EXIT

if [ -t 1 ]; then bold=$'\e[1m'; dim=$'\e[2m'; off=$'\e[0m'; else bold= dim= off=; fi
step() { printf '\n%s== %s%s\n' "$bold" "$*" "$off"; }
show() { printf '%s$ %s%s\n' "$dim" "$*" "$off"; "$@"; }

export AWS_ACCESS_KEY_ID=AKIDEXAMPLE
export AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY
export AWS_DEFAULT_REGION=us-east-1
export AWS_EC2_METADATA_DISABLED=true AWS_PAGER= AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null

step "1. Start the EC2 simulator (tests/ec2sim): EC2's API, signatures checked, state in memory"
mkfifo "$work/url"
$PY tests/ec2sim/ec2sim --port 0 --pending-seconds 20 >"$work/url" 2>"$work/ec2sim.log" &
sim_pid=$!
read -r line <"$work/url"
url=${line##* }
echo "$line"

step "2. Five instances: three web servers tagged Role=web, Golden=yes; a database; a scratch box"
curl -sf -X POST "$url/_sim/seed" -H 'Content-Type: application/json' -d '{
  "region": "us-east-1",
  "instances": [
    {"name": "web-1", "tags": {"Role": "web", "Golden": "yes"}, "volumes": 2},
    {"name": "web-2", "tags": {"Role": "web", "Golden": "yes"}, "volumes": 2},
    {"name": "web-3", "tags": {"Role": "web", "Golden": "yes"}, "volumes": 1, "state": "stopped"},
    {"name": "db-1",  "tags": {"Role": "db"}},
    {"name": "scratch"}
  ]}' >/dev/null
show /usr/bin/aws ec2 describe-instances --endpoint-url "$url" --output table \
        --query 'Reservations[].Instances[].{Id:InstanceId,Name:Tags[?Key==`Name`]|[0].Value,Role:Tags[?Key==`Role`]|[0].Value,State:State.Name}'

step "3. The example configuration from config/, pointed at the simulator, keeping 3 generations"
mkdir -p "$work/etc/policies.d"
cp config/amirotd.yaml "$work/etc/"
printf 'endpoint_url: %s\npoll_initial: 1s\npoll_max: 2s\n' "$url" >>"$work/etc/amirotd.yaml"
sed 's/^  count: 7$/  count: 3/' config/policies.d/web.yaml >"$work/etc/policies.d/web.yaml"
show grep -v '^#' "$work/etc/policies.d/web.yaml"
# The simulator speaks plain HTTP, which amirotd rightly warns about once per command.
a() { "$AMIROTD" -c "$work/etc/amirotd.yaml" "$@" 2> >(grep -v 'is plain HTTP' >&2); }

step "4. amirotd check: every file validated, a summary of each policy"
show a check --now=2030-01-01T03:10:00Z

step "5. amirotd plan: what the first run would do (nothing is changed)"
show a plan --now=2030-01-01T03:10:00Z

step "6. Five daily slots, one 'amirotd once' each (the simulator's clock moves with them)"
for day in 1 2 3 4 5; do
        now=$(printf '2030-01-%02dT03:10:00Z' "$day")
        curl -sf -X POST "$url/_sim/clock" -d "{\"set\": \"$now\"}" >/dev/null
        printf '%sday %d%s\n' "$bold" "$day" "$off"
        a once --now="$now" 2>&1 | grep -E "^(policy|error|warning)" | sed 's/ (policy=.*)$//; s/^/  /'
done

step "7. amirotd list: three available generations per web server, none for the others"
show a list --now=2030-01-05T03:10:00Z

step "8. The retired images' snapshots are gone too"
snaps=$(/usr/bin/aws ec2 describe-snapshots --endpoint-url "$url" --owner-ids self \
        --filters Name=tag:amirotd:policy,Values=web --query 'length(Snapshots)')
echo "snapshots tagged amirotd:policy=web: $snaps (3 generations x (2 + 2 + 1) volumes = 15)"

step "9. The service: 'amirotd run', here with a fast policy of its own (every 5s, 2 kept), for 17 seconds"
curl -sf -X POST "$url/_sim/clock" -d '{"real": true}' >/dev/null
curl -sf -X POST "$url/_sim/images" -d '{"pending_seconds": 1}' >/dev/null
sed -e 's/^name: web$/name: web-fast/' -e 's/^  every: 24h$/  every: 5s/' -e '/^  at: /d' -e 's/^  count: 3$/  count: 2/' \
        "$work/etc/policies.d/web.yaml" >"$work/etc/policies.d/web-fast.yaml"
rm "$work/etc/policies.d/web.yaml"
printf 'spread: 0s\n' >>"$work/etc/amirotd.yaml"
printf '%s$ amirotd run   (under systemd: systemctl start amirotd; logs in journalctl -u amirotd)%s\n' "$dim" "$off"
"$AMIROTD" -c "$work/etc/amirotd.yaml" --log-target=console run >"$work/run.log" 2>&1 &
run_pid=$!
sleep 17
kill -TERM "$run_pid"
wait "$run_pid"
grep -E "running|run done|retired|stopping|error" "$work/run.log" | sed 's/ (policy=[^)]*)$//; s/^/  /'
show a list --policy web-fast

step "Done: the simulator stops now. 'amirotd --help' and man/amirotd.8 tell the rest."
