"""The scripted demo: sandboxes, gateway and an agent session on loopback."""
