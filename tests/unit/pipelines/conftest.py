"""The registry sync's tests use the registry tests' fresh registry and intents folder."""

from tests.unit.registry.conftest import chimera_home, intents_dir, registry  # noqa: F401 (fixtures, used by name)
