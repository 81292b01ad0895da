"""The sandbox platform: a local, stateful server speaking the subset of each platform's API
that Vigie uses, with a control API under ``/_sandbox/`` (docs/sandbox.md)."""
