#!/bin/sh
# The emulated Greengrass core: the emulator package under /opt/hil/lib, the component user
# ggc_user:ggc_group (as the real installer's --component-default-user makes), the /greengrass/v2
# layout with bin/greengrass-cli, and an init.d script that starts the supervised nucleus.
# The build ends with a smoke deployment so a broken emulator fails the image, not a test later.
set -eu

py="$HIL_VENV/bin/python"
lib=/opt/hil/lib
root=/greengrass/v2

getent group ggc_group >/dev/null || groupadd --system ggc_group
getent passwd ggc_user >/dev/null || useradd --system --gid ggc_group --no-create-home \
    --home-dir /nonexistent --shell /usr/sbin/nologin ggc_user

install -d -m 0755 "$lib/simulators"
install -m 0644 simulators/__init__.py "$lib/simulators/__init__.py"
rm -rf "$lib/simulators/greengrass"
cp -R simulators/greengrass "$lib/simulators/greengrass"
find "$lib/simulators" -name __pycache__ -prune -exec rm -rf {} +
chmod -R u=rwX,go=rX "$lib/simulators"
"$py" -m compileall -q "$lib/simulators"   # byte-compiled now: greengrass-cli starts faster

PYTHONPATH="$lib" "$py" -m simulators.greengrass.layout --root "$root" --pythonpath "$lib" --python "$py" \
    --thing-name "${HIL_OPT_THING_NAME:-hil-core}" --run-as ggc_user:ggc_group
chmod 0755 /greengrass "$root"

cat > /opt/hil/init.d/50-greengrass <<'INIT'
#!/bin/sh
# Start the emulated Greengrass nucleus under its respawning supervisor, detached, and wait (bounded)
# until it answers on /greengrass/v2/ipc.socket.
# The entrypoint runs this once per container start, so no nucleus of this start is running yet; the
# socket is a leftover of the last start (a pid file would be too, naming a pid now reused by anything).
rm -f /greengrass/v2/ipc.socket
setsid /greengrass/v2/bin/greengrass-nucleus </dev/null >/dev/null 2>&1 &
i=0
while [ "$i" -lt 150 ] && [ ! -S /greengrass/v2/ipc.socket ]; do
    sleep 0.2
    i=$((i + 1))
done
[ -S /greengrass/v2/ipc.socket ] || echo "hil: greengrass nucleus not answering yet (see /greengrass/v2/logs)" >&2
exit 0
INIT
chmod 0755 /opt/hil/init.d/50-greengrass

# Smoke deployment in a scratch root: a component must run as ggc_user and write its work directory.
smoke=$(mktemp -d)
chmod 0755 "$smoke"  # like /greengrass: ggc_user must traverse it
PYTHONPATH="$lib" "$py" -m simulators.greengrass.layout --root "$smoke/gg" --pythonpath "$lib" --python "$py" \
    --run-as ggc_user:ggc_group
mkdir -p "$smoke/recipes"
cat > "$smoke/recipes/hil.Smoke-1.0.0.yaml" <<'YAML'
RecipeFormatVersion: '2020-01-25'
ComponentName: hil.Smoke
ComponentVersion: '1.0.0'
Manifests:
  - Platform:
      os: linux
    Lifecycle:
      Run: id -un > {work:path}/whoami
YAML
"$smoke/gg/bin/greengrass-nucleus" </dev/null >"$smoke/nucleus.out" 2>&1 &
sup=$!
cli="$smoke/gg/bin/greengrass-cli"
status=""
i=0
while [ "$i" -lt 300 ]; do
    if [ -S "$smoke/gg/ipc.socket" ]; then
        if [ -z "${dep:-}" ]; then
            out=$("$cli" deployment create --recipeDir "$smoke/recipes" --merge hil.Smoke=1.0.0)
            dep=${out##*: }
        fi
        status=$("$cli" deployment status -i "$dep" | head -n 1)
        case "$status" in *SUCCEEDED|*FAILED) break ;; esac
    fi
    sleep 0.2
    i=$((i + 1))
done
kill "$sup" 2>/dev/null || true
wait "$sup" 2>/dev/null || true
whoami=$(cat "$smoke/gg/work/hil.Smoke/whoami" 2>/dev/null || echo none)
case "$status" in
    *SUCCEEDED) ;;
    *) echo "greengrass emulator smoke deployment did not succeed: '$status'" >&2
       cat "$smoke/nucleus.out" "$smoke/gg/logs/greengrass.log" >&2 || true
       exit 1 ;;
esac
[ "$whoami" = ggc_user ] || { echo "smoke component ran as '$whoami', expected ggc_user" >&2; exit 1; }
rm -rf "$smoke"
echo "greengrass emulator: smoke deployment SUCCEEDED as ggc_user"
