#!/usr/bin/env bash
# Prepares the device call of scripts/gpu.sh, on the machine that makes it
# (this workplace's GPU machine has no network and no git history): fetches
# the Debian packages its image lacks into .deb/ (ignored by git; the call
# carries it), and records in .deb/call.json the commit, the state of the
# working tree that travels with the call, and the exact call to make.
# Run it again before every call: the commit changes.
set -euo pipefail
cd "$(dirname "$0")/.."
# cmocka (the tests), pkg-config (which finds it and libgc), libgc (the
# Boehm peer, built in so that the bench build matches a CPU machine's).
packages=(libcmocka0 libcmocka-dev pkgconf pkgconf-bin libpkgconf3 libgc1 libgc-dev)
mkdir -p .deb
for p in "${packages[@]}"; do
  if ! compgen -G ".deb/${p}_*.deb" >/dev/null; then
    (cd .deb && apt-get download "$p") || {
      echo "gpu-prepare: apt-get download $p failed (apt-get update first?)" >&2
      exit 1
    }
  fi
done
python3 - <<'EOF'
import datetime, glob, hashlib, json, socket, subprocess
def git(*args):
    return subprocess.run(["git", *args], capture_output=True, text=True, check=True).stdout
diff = git("diff", "HEAD", "--binary")
call = {
    "commit": git("rev-parse", "HEAD").strip(),
    "describe": git("describe", "--always", "--dirty").strip(),
    "subject": git("log", "-1", "--format=%s").strip(),
    # The call sends the working tree, committed or not: what differs.
    "changed": git("status", "--porcelain").splitlines(),
    "diff_sha256": hashlib.sha256(diff.encode()).hexdigest() if diff else None,
    "prepared": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
    "prepared_on": socket.gethostname(),
    "debs": sorted(glob.glob(".deb/*.deb")),
    "device_command": "bash scripts/gpu.sh",
    "carry": [".deb"],
    "timeout_s": 540,
}
with open(".deb/call.json", "w") as f:
    json.dump(call, f, indent=1)
    f.write("\n")
print("gpu-prepare: .deb/call.json: %s%s" % (call["describe"],
      ", %d changed paths travel too" % len(call["changed"]) if call["changed"] else ""))
EOF
echo "gpu-prepare: now one device call: command 'bash scripts/gpu.sh', carry ['.deb'], timeout_s 540;"
echo "  it brings back summary.json, summary.md and steps.tar.gz (every step's folder)"
