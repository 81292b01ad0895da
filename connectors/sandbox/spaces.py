"""``[[spaces]]`` blocks for spaces that point at the sandbox (tests and benchmarks)."""

from __future__ import annotations

SPACE_TEMPLATE = """
[[spaces]]
id = "{id}"
platform = "{platform}"
platform_id = "{platform_id}"
name = "{name}"
owner = "{owner}"
contacts = ["{contact}"]
approval_ref = "{approval_ref}"
approval_date = 2024-09-03
administrators = ["Équipe des communications"]
mode = "{mode}"
poll_interval = {interval}
api_base_url = "{url}"
secrets = {secrets}
{extra}
"""


def space_toml(
    space_id: str,
    url: str,
    *,
    platform: str,
    platform_id: str,
    secrets: str,
    mode: str = "enforce",
    interval: int = 300,
    owner: str = "Service des communications",
    contact: str = "communications@csjonquiere.qc.ca",
    approval_prefix: str = "SGC-SANDBOX",
    extra: str = "",
) -> str:
    """Return the TOML of one approved space whose platform is the sandbox at ``url``."""
    return SPACE_TEMPLATE.format(
        id=space_id,
        platform=platform,
        platform_id=platform_id,
        name=f"Espace {space_id}",
        owner=owner,
        contact=contact,
        approval_ref=f"{approval_prefix}-{space_id}",
        mode=mode,
        interval=interval,
        url=url,
        secrets=secrets,
        extra=extra,
    )
