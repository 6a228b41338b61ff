from ketadesk.app import main

raise SystemExit(main())
