"""commhub: accessible, language-access outreach for health plans."""

__version__ = "0.1.0"
