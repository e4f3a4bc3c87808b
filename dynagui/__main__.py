import sys

from dynagui.cli import main

sys.exit(main())
