"""Helpers for data migrations that several apps write the same way.

A data migration is history: what it calls must keep working for every install that has not run it
yet. Keep these functions' behaviour stable; add a new function rather than change one.
"""

from __future__ import annotations

from collections.abc import Iterable


def seed_message_templates(apps, templates: Iterable[tuple], *, kind: str | None = None) -> None:
    """Create the message-centre templates an app ships, leaving any an operator has edited.

    ``templates`` rows are ``(code, name, {channel: (subject, body)})``, or with a fourth item, the
    template's kind (``service`` / ``legal``). ``kind`` gives one kind to rows without their own; a
    migration that runs before ``messaging.0003`` (which added the field) gives none.
    """
    Template = apps.get_model("messaging", "Template")
    for row in templates:
        code, name, variants = row[:3]
        row_kind = row[3] if len(row) > 3 else kind
        for channel, (subject, body) in variants.items():
            defaults = {"name": name, "subject": subject, "body": body, "active": True}
            if row_kind is not None:
                defaults["kind"] = row_kind
            Template.objects.get_or_create(code=code, channel=channel, defaults=defaults)
