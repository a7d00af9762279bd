import sys

from esctui.cli import main

sys.exit(main())
