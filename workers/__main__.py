"""`python -m workers` runs the `rakuten-worker` command line."""

from workers.cli import main

raise SystemExit(main())
