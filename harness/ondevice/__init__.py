"""Code that runs on the devices, kept apart from the host harness and shipped one way (harness.ship).

agent       the bench agent: single-stream latency, peak RSS and load time of one model with one runtime
stats       latency percentiles (MLPerf LoadGen's rule), shared with the host
component   the DLR inference component's script (Greengrass runs it), with link, payload and preprocess
model_component  the generic model component's script (any Neo model's outputs)
publisher   the components' MQTT publisher (reconnects with backoff) and their publish-every-interval loop
link        one MQTT 3.1.1 connection over mutual TLS with awscrt (the host's subscriber uses it too)
payload     the classification result message (built on the device, parsed on the host)
preprocess  the bundled model's preprocessing (the device component and the host reference)
dlr_run     one DLR inference through the unmodified dlr wrapper (reproductions, the host reference check)
dlr_probe   the DLR wrapper's version and the libdlr it loads, without importing dlr (preflight)
alloc       allocate an input batch of a given size (the out-of-memory reproduction)
fidelity    what the agent's own timing costs (the bench fidelity benchmark)
mqtt_probe  timestamped QoS 1 publishes with the core's thing certificate (the MQTT latency benchmark)

Rules, enforced by tests/unit/test_layout.py: a module here imports only the standard library, numpy,
the device's ML runtimes (dlr, onnxruntime, ai_edge_litert), cv2, awscrt and its siblings; never
``harness.*`` outside this package. Siblings are imported as ``from . import x`` with a fallback to
``import x``: the host imports the package, the device runs a module as a script from a directory
holding all of the package's files flat (a board has no image, and a Greengrass component's artifacts
are flat files).
"""
