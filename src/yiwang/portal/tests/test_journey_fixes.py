"""Issue #14 findings that a unit test can keep fixed (the journey tests in tests/browser check the rest)."""

import re
from pathlib import Path

CSS = Path(__file__).resolve().parents[2] / "static" / "yiwang" / "yiwang.css"


def test_no_bare_badge_rule_after_the_status_colours():
    """A later bare ``.badge {…}`` rule with a background overrode .badge-ok/.badge-warn (all white on red)."""
    css = CSS.read_text()
    ok = css.index(".badge-ok {")
    later = css[ok:]
    for rule in re.finditer(r"(?m)^([^{}\n]*)\{([^}]*)\}", later):
        selectors = [s.strip() for s in rule.group(1).split(",")]
        if ".badge" in selectors:
            assert "background" not in rule.group(2) and "color" not in rule.group(2), rule.group(0)
