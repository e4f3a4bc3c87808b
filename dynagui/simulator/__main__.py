import sys

from dynagui.simulator.run import main

sys.exit(main())
