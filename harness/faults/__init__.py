"""Network faults between the controller and one device, and between a device and the lab's broker.

    model    what a fault is (latency, loss, rate, down, reset), which link it sits on, where (Target)
    rules    the iptables rules and tc commands a fault installs: pure, tagged ``hil-fault:`` and handle 4849:
    proxy    the user-space TCP proxy that adds latency and jitter when the kernel has no netem
    inject   install, list, clear and sweep faults on the controller (state kept per device)
    lab      a lab device as a Target, and the sweep ``hil lab up`` runs after a crash
    cli      ``hil fault add|list|clear DEVICE ...``
"""
