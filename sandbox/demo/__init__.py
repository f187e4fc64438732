"""``horseshoe demo``: the whole pipeline against the sandbox fakes, with scripted customers and agents."""
