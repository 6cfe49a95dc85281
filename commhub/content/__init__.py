"""Content: the outreach topics (one semantic source each), their typed variables, and the
translatable strings shared by every format."""
