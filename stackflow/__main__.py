import sys

from stackflow.cli import main

sys.exit(main())
