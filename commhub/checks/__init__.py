"""Rule checks for what commhub sends: large-print HTML email, relay text and speech text.

Each checker takes a produced artefact and returns a list of `Violation`s naming rule ids
from ACCESSIBILITY.md; an empty list means every check passed. They are static (no browser)
and fast enough to run on every preview.
"""

from commhub.checks.base import Violation
from commhub.checks.large_print import check_html
from commhub.checks.message import check_message
from commhub.checks.relay import check_relay, check_speech_text

__all__ = ["Violation", "check_html", "check_message", "check_relay", "check_speech_text"]
