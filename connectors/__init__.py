"""Platform connectors (Facebook, Instagram, X, YouTube) and the sandbox platform."""
