"""The action catalog (`runbooks/catalog.yaml`): the only actions the healer can run."""

from __future__ import annotations

from collections.abc import Iterator
from functools import cache
from pathlib import Path

from healer.domain import ActionId, ActionSpec
from healer.errors import ConfigError

RUNBOOKS_DIR = Path(__file__).resolve().parent.parent / "runbooks"


class Catalog:
    """Catalog actions by id."""

    def __init__(self, actions: dict[ActionId, ActionSpec]) -> None:
        self._actions = actions

    def get(self, action: ActionId | str) -> ActionSpec | None:
        try:
            return self._actions.get(ActionId(action))
        except ValueError:
            return None

    def __getitem__(self, action: ActionId) -> ActionSpec:
        return self._actions[action]

    def __iter__(self) -> Iterator[ActionSpec]:
        return iter(self._actions.values())

    @classmethod
    def from_file(cls, path: Path) -> Catalog:
        import yaml  # here: reading settings, which names RUNBOOKS_DIR, needs no YAML

        try:
            raw = yaml.safe_load(path.read_text())
            actions = {
                ActionId(action_id): ActionSpec(id=action_id, **spec)
                for action_id, spec in raw["actions"].items()
            }
        except (OSError, KeyError, TypeError, ValueError, yaml.YAMLError) as exc:
            raise ConfigError(f"cannot load action catalog {path}: {exc}") from exc
        missing = set(ActionId) - set(actions)
        if missing:
            raise ConfigError(f"catalog {path} lacks actions: {', '.join(sorted(missing))}")
        return cls(actions)


@cache
def load_catalog(path: Path) -> Catalog:
    """The catalog at `path`, read once per process."""
    return Catalog.from_file(path)


def default_catalog() -> Catalog:
    return load_catalog(RUNBOOKS_DIR / "catalog.yaml")
