"""Question 2: does continuing ICI (vs stopping) prevent progression? Estimated without immortal-time bias.

Modules (plain functions on DataFrames / numpy arrays; the estimators are the package's one KM and Cox
engine, :mod:`icistop.stats.km` and :mod:`icistop.stats.cox_engine`, and :mod:`icistop.stats.logistic`):
- :mod:`.protocol`     target-trial protocol (``Protocol``, ``protocol_from_config``, ``protocol_table``)
- :mod:`.panel`        analysis panel from endpoints/assessments (``prepare_panel``, ``confounder_design``)
- :mod:`.naive`        immortal-time-biased comparisons, for contrast only (``naive_ever_stopped``,
  ``fixed_duration_groups``)
- :mod:`.landmark`     on vs off ICI at landmarks (``landmark_table``, ``landmark_km``)
- :mod:`.timevarying`  time-varying Cox (``split_episodes``, ``timevarying_cox``)
- :mod:`.arm_variance` working-Cox information SE of the per-strategy estimates
- :mod:`.ccw`          clone-censor-weight emulation (``eligible``, ``build_clones``, ``estimate``, ``run_ccw``,
  ``weight_diagnostics``, ``km_table``)
- :mod:`.bootstrap`    sharded nonparametric bootstrap and the marker-by-strategy interaction
- :mod:`.estimability` when an estimate may be printed ("not estimable" rules)
- :mod:`.tables`       result tables: estimates with bootstrap CIs, interaction, side-by-side comparison
- :mod:`.pipeline`     glue for the Snakemake entry points
- :mod:`.simstudy`     simulation study against the generator's counterfactual truth
- :mod:`.plots`        figures.
"""
