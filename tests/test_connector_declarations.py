"""Every registered connector declares what the interface requires (urlwatch's
``test_required_classattrs_in_subclasses`` habit)."""

from __future__ import annotations

import inspect

import pytest

from connectors import registry
from connectors.base import Connector, ConnectorOptions


@pytest.mark.parametrize("kind", sorted(registry.MODULES))
def test_connector_declares_the_interface(kind: str) -> None:
    try:
        cls = registry.get(kind)
    except (KeyError, ModuleNotFoundError):
        pytest.skip(f"no connector for {kind} on this branch")
    assert issubclass(cls, Connector) and not inspect.isabstract(cls)
    assert cls.kind == kind
    assert isinstance(cls.display_name, str) and cls.display_name
    assert isinstance(cls.required_secrets, tuple)
    assert isinstance(cls.optional_secrets, tuple)
    assert not set(cls.required_secrets) & set(cls.optional_secrets)
    declared = set(cls.required_secrets) | set(cls.optional_secrets)
    for names in cls.secret_sets:
        assert names and set(names) <= declared, f"{kind}: secret_sets names undeclared secrets"
    if not cls.secret_sets:
        assert cls.required_secrets, f"{kind}: no secret is required and no set is declared"
    assert issubclass(cls.Options, ConnectorOptions)
    assert cls.Options.model_config.get("extra") == "forbid"
    cls.Options()  # every option has a default
    assert cls.default_api_base_url.startswith("https://")
    assert isinstance(cls.can_delete, bool)


class _OneByOne(Connector):
    """A connector acting one comment at a time (the interface's own act_many)."""

    kind = "test"
    display_name = "Test"
    default_api_base_url = "http://127.0.0.1:9"

    def __init__(self, failures: dict[str, Exception]) -> None:
        super().__init__(platform_id="p", secrets={})
        self.failures = failures
        self.hidden: list[str] = []

    def fetch(self, cursor):  # type: ignore[no-untyped-def]
        raise NotImplementedError

    def hide(self, comment_id: str) -> None:
        if comment_id in self.failures:
            raise self.failures[comment_id]
        self.hidden.append(comment_id)

    unhide = delete = hide

    def state(self, comment_id: str):  # type: ignore[no-untyped-def]
        return "unknown"

    def check(self):  # type: ignore[no-untyped-def]
        raise NotImplementedError


def test_act_many_acts_in_order_and_stops_at_a_rate_limit() -> None:
    from connectors.errors import RateLimited, Refused

    refused, limited = Refused("no"), RateLimited("wait")
    one = _OneByOne({"b": refused, "d": limited})
    assert one.act_many("hide", ["a", "b", "c", "d", "e"]) == [None, refused, None, limited]
    assert one.hidden == ["a", "c"]  # "e" is not tried after the rate limit
    with pytest.raises(ValueError):
        one.act_many("explode", ["a"])
