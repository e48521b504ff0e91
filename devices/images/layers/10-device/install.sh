#!/bin/sh
# The board-like basics: a dedicated unprivileged login user with passwordless sudo (like a board's
# default user), sshd with key-only login, a Python venv for the runtime, and the entrypoint.
set -eu

useradd --create-home --shell /bin/bash --uid 1000 "$HIL_DEVICE_USER"
# No password, yet not locked: sshd without PAM refuses locked accounts even for key logins.
usermod -p "*" "$HIL_DEVICE_USER"
echo "$HIL_DEVICE_USER ALL=(ALL) NOPASSWD:ALL" > "/etc/sudoers.d/$HIL_DEVICE_USER"
chmod 0440 "/etc/sudoers.d/$HIL_DEVICE_USER"
install -d -m 0700 -o "$HIL_DEVICE_USER" -g "$HIL_DEVICE_USER" "/home/$HIL_DEVICE_USER/.ssh"

# Host keys are made per container at first start, never baked into the image.
rm -f /etc/ssh/ssh_host_*
install -d -m 0755 /run/sshd
cat > /etc/ssh/sshd_config.d/hil.conf <<CONF
PasswordAuthentication no
KbdInteractiveAuthentication no
PermitRootLogin no
UsePAM no
AllowUsers $HIL_DEVICE_USER
UseDNS no
PrintMotd no
CONF

python3 -m venv "$HIL_VENV"
install -d -m 0755 /opt/hil/bin /opt/hil/init.d
install -m 0755 entrypoint /opt/hil/bin/entrypoint

# sshd gives sessions a fresh environment: pass on what the image sets (QEMU_CPU on arm64, HIL_*),
# so commands over SSH see what commands over `docker exec` see.
# One SetEnv line: sshd takes only the first of a repeated keyword.
pass_on=$(env | grep -E '^(QEMU_CPU|HIL_)' | sort | tr '\n' ' ')
[ -z "$pass_on" ] || echo "SetEnv $pass_on" >> /etc/ssh/sshd_config.d/hil.conf
