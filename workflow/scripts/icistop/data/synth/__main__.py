"""``python -m icistop.data.synth``: write the embedded example (see :func:`example.main`)."""

from icistop.data.synth.example import main

main()
