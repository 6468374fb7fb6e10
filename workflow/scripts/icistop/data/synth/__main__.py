"""``python -m icistop.data.synth``: write the embedded example (see :func:`example.main`);
``python -m icistop.data.synth omop ...`` writes it as an OMOP CDM instance (see :func:`omop.main`);
``python -m icistop.data.synth adam ...`` as CDISC ADaM ADSL/ADTTE/ADRS (see :func:`adam.main`)."""

import sys

if sys.argv[1:2] == ["omop"]:
    from icistop.data.synth.omop import main as omop_main

    omop_main(sys.argv[2:])
elif sys.argv[1:2] == ["adam"]:
    from icistop.data.synth.adam import main as adam_main

    adam_main(sys.argv[2:])
else:
    from icistop.data.synth.example import main

    main()
