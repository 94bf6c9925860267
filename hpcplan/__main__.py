from hpcplan.cli import main

raise SystemExit(main())
