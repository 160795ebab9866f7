from graphiam.cli.main import main

raise SystemExit(main())
