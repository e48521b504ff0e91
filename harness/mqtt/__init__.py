"""The lab's AWS IoT Core stand-in: mosquitto with mutual TLS, its PKI, and the harness's subscriber."""
