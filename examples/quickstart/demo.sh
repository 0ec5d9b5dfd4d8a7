#!/usr/bin/env bash
# `make demo`: the quickstart against a local defentry-mock, with the provider cargo just built
# (dev_overrides), and one scheduled rotation: apply, wait until plan reports the rotation,
# apply again, show that only the new token is alive, destroy.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
tf=${TERRAFORM:-$root/.tools/bin/terraform}
period=${DEMO_ROTATION_PERIOD:-20s}
work=$root/.work/demo
mock=$root/target/debug/defentry-mock

for f in "$tf" "$mock" "$root/target/debug/terraform-provider-defentry"; do
  [[ -x $f ]] || { echo "demo: $f is missing; run make setup" >&2; exit 1; }
done

rm -rf "$work"
mkdir -p "$work"
cp "$root"/examples/quickstart/*.tf "$work"/
cat >"$work/terraform.tfrc" <<TFRC
provider_installation {
  dev_overrides {
    "defentry/defentry" = "$root/target/debug"
  }
  direct {}
}
TFRC

# The mock prints its base URL on the first stdout line once it accepts connections.
coproc MOCK { exec "$mock" --listen 127.0.0.1:0 2>"$work/mock.log"; }
mock_pid=$MOCK_PID
trap 'kill "$mock_pid" 2>/dev/null || true' EXIT
IFS= read -r -t 30 url <&"${MOCK[0]}" || { echo "demo: defentry-mock did not start:" >&2; cat "$work/mock.log" >&2; exit 1; }

sessions() {
  python3 -c 'import json,sys,urllib.request; print(json.load(urllib.request.urlopen(sys.argv[1] + "/_mock/sessions"))["active"])' "$url"
}

export TF_CLI_CONFIG_FILE=$work/terraform.tfrc
export DEFENTRY_API_DOMAIN=$url
export DEFENTRY_USERNAME=acme-backend-integration@partner.com
export DEFENTRY_PASSWORD=your_service_account_password
export CHECKPOINT_DISABLE=1 TF_IN_AUTOMATION=1 TF_INPUT=0
export TF_VAR_rotation_period=$period
cd "$work"

say() { printf '\n\033[1m==> %s\033[0m\n' "$*"; }

say "defentry-mock at $url; Terraform: $("$tf" version | head -n1); working directory $work"
say "terraform apply (rotation_period = $period)"
"$tf" apply -auto-approve -compact-warnings
first=$("$tf" output -raw token_id)
say "token $first issued; rotation due at $("$tf" output -raw rotate_at); active sessions: $(sessions)"

say "polling terraform plan -detailed-exitcode until the rotation is due (exit code 2)"
while :; do
  code=0
  "$tf" plan -no-color -detailed-exitcode -compact-warnings -out=rotation.tfplan >plan.log 2>&1 || code=$?
  case $code in
    0) printf '.'; sleep 2 ;;
    2) echo; grep -E 'must be replaced|forces replacement' plan.log || true; break ;;
    *) cat plan.log; exit 1 ;;
  esac
done

say "terraform apply rotation.tfplan (the saved plan)"
"$tf" apply -compact-warnings rotation.tfplan
second=$("$tf" output -raw token_id)
say "rotated: token $first -> $second; active sessions: $(sessions) (the old token is logged out)"
echo "The new token: terraform output -raw token (in $work)"

say "terraform destroy"
"$tf" destroy -auto-approve -compact-warnings
say "active sessions after destroy: $(sessions)"
