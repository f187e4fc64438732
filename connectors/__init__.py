"""Built-in social network connectors. Each module is a pluggy plugin registered via entry points."""
