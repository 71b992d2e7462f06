#!/usr/bin/env bash
# make demo: a short guided tour of amirotd against the bundled EC2 simulator.
# Five instances, one policy from config/, five daily slots run with `amirotd once`,
# then `amirotd list` shows three generations kept and the older ones retired with
# their snapshots; then the service itself runs a few short slots. Everything runs
# on this machine; nothing reaches AWS. About half a minute once built: every wait
# is announced with its length, and every setting the demo changes is shown.
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
# Shows the command as an operator would type it ("a" and "quiet" are the demo's wrappers).
show() {
        local cmd="$*"
        cmd=${cmd#quiet }
        [ "${cmd#a }" != "$cmd" ] && cmd="amirotd ${cmd#a }"
        printf '%s$ %s%s\n' "$dim" "$cmd" "$off"
        "$@"
}

export AWS_ACCESS_KEY_ID=AKIDEXAMPLE
export AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY
export AWS_DEFAULT_REGION=us-east-1
export AWS_EC2_METADATA_DISABLED=true AWS_PAGER= AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null

step "1. Start the EC2 simulator (tests/ec2sim): EC2's API, signatures checked, state in memory"
mkfifo "$work/url"
# New images stay "pending" for 2 s here (on EC2: minutes, growing with the volumes).
$PY tests/ec2sim/ec2sim --port 0 --pending-seconds 2 >"$work/url" 2>"$work/ec2sim.log" &
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
printf '\n# Added by the demo, each unlike its default (amirotd.yaml(5)):\n' >>"$work/etc/amirotd.yaml"
printf 'endpoint_url: %s   # the simulator, not AWS\n' "$url" >>"$work/etc/amirotd.yaml"
printf 'poll_initial: 1s   # first look at a new image (default 15s)\n' >>"$work/etc/amirotd.yaml"
printf 'poll_max: 2s       # longest wait between looks (default 5m)\n' >>"$work/etc/amirotd.yaml"
sed 's/^  count: 7$/  count: 3/' config/policies.d/web.yaml >"$work/etc/policies.d/web.yaml"
show cat "$work/etc/amirotd.yaml" "$work/etc/policies.d/web.yaml"
echo "${dim}(config/policies.d/web.yaml with count 7 -> 3. Credentials: the environment's"
echo " AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, the simulator's test key)${off}"
a() { "$AMIROTD" -c "$work/etc/amirotd.yaml" "$@"; }
# The simulator speaks plain HTTP, which amirotd rightly warns about in every command:
# shown once in step 4, then left out.
quiet() { "$@" 2> >(grep --line-buffered -v 'is plain HTTP' >&2); }

step "4. amirotd check: every file validated, a summary of each policy"
show a check --now=2030-01-01T03:10:00Z

echo "${dim}(the demo leaves out that plain-HTTP warning from here on)${off}"

step "5. amirotd plan: what the first run would do (nothing is changed)"
show quiet a plan --now=2030-01-01T03:10:00Z

step "6. amirotd once --dry-run: EC2 checks every permission a run needs (nothing is changed)"
show quiet a once --dry-run --now=2030-01-01T03:10:00Z

step "7. Five daily slots, one 'amirotd once' each (the simulator's clock moves with them)"
echo "Each run creates the slot's images, waits about 3 s until they are available, then"
echo "retires what they push out of the 3 kept. Its log lines, as they come:"
for day in 1 2 3 4 5; do
        now=$(printf '2030-01-%02dT03:10:00Z' "$day")
        curl -sf -X POST "$url/_sim/clock" -d "{\"set\": \"$now\"}" >/dev/null
        printf '%sday %d%s  %s$ amirotd once --now=%s%s\n' "$bold" "$day" "$off" "$dim" "$now" "$off"
        a once --now="$now" 2>&1 | grep --line-buffered -v 'is plain HTTP' |
                grep --line-buffered -E "creating|is available|retired|^(policy|error|warning)" |
                sed -u 's/ (policy=[^)]*)$//; s/^/  /'
done

step "8. amirotd list: three available generations per web server, none for the others"
show quiet a list --now=2030-01-05T03:10:00Z

step "9. The retired images' snapshots are gone too"
snaps=$(/usr/bin/aws ec2 describe-snapshots --endpoint-url "$url" --owner-ids self \
        --filters Name=tag:amirotd:policy,Values=web --query 'length(Snapshots)')
echo "snapshots tagged amirotd:policy=web: $snaps (3 generations x (2 + 2 + 1) volumes = 15)"

step "10. The service: 'amirotd run', here with a fast policy of its own (every 5s, 2 kept), for 12 seconds"
curl -sf -X POST "$url/_sim/clock" -d '{"real": true}' >/dev/null
curl -sf -X POST "$url/_sim/images" -d '{"pending_seconds": 1}' >/dev/null
sed -e 's/^name: web$/name: web-fast/' -e 's/^  every: 24h$/  every: 5s/' -e '/^  at: /d' -e 's/^  count: 3$/  count: 2/' \
        "$work/etc/policies.d/web.yaml" >"$work/etc/policies.d/web-fast.yaml"
rm "$work/etc/policies.d/web.yaml"
printf 'spread: 0s         # creations start at once (default: spread over 10m)\n' >>"$work/etc/amirotd.yaml"
echo "${dim}(changed for this step: policy web-fast, every 5s, count 2; spread: 0s in amirotd.yaml)${off}"
printf '%s$ amirotd run   (under systemd: systemctl start amirotd; logs in journalctl -u amirotd)%s\n' "$dim" "$off"
# Its log lines as they come, for 12 seconds; the pipe ends when amirotd does.
{ "$AMIROTD" -c "$work/etc/amirotd.yaml" --log-target=console run 2>&1 & echo $! >"$work/run.pid"; wait; } |
        grep --line-buffered -E "running|run done|retired|stopping|error" | sed -u 's/ (policy=[^)]*)$//; s/^/  /' &
pipe_pid=$!
sleep 12
kill -TERM "$(cat "$work/run.pid")"
wait "$pipe_pid"
show quiet a list --policy web-fast

step "Done: the simulator stops now. 'amirotd --help' and man/amirotd.8 tell the rest."
