"""``python -m edgembed``: the same CLI as the ``edgembed`` command."""

from edgembed.cli.main import main

main()
