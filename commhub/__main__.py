"""`python -m commhub` = the `commhub` console script."""

from commhub.cli import main

raise SystemExit(main())
