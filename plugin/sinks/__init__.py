"""Built-in CRM sinks (each module is a plugin registered by default)."""
