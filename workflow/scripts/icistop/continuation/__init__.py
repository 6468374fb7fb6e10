"""Question 2: does continuing ICI (vs stopping) prevent progression? Estimated without immortal-time bias.

Modules (plain functions on DataFrames / numpy arrays):
- :mod:`.protocol`  target-trial protocol (``Protocol``, ``protocol_from_config``, ``protocol_table``)
- :mod:`.data`      analysis panel from endpoints/assessments (``prepare_panel``, ``confounder_design``)
- :mod:`.naive`     immortal-time-biased comparisons, for contrast only (``naive_ever_stopped``, ``fixed_duration_groups``)
- :mod:`.landmark`  on vs off ICI at landmarks (``landmark_table``, ``landmark_km``)
- :mod:`.timevarying` time-varying Cox (``split_episodes``, ``timevarying_cox``)
- :mod:`.ccw`       clone-censor-weight emulation (``eligible``, ``build_clones``, ``estimate``, ``run_ccw``,
  ``weight_diagnostics``, ``km_table``)
- :mod:`.bootstrap` sharded nonparametric bootstrap and the marker-by-strategy interaction
- :mod:`.simstudy`  simulation study against the generator's counterfactual truth
- :mod:`.wkm`, :mod:`.wcox`, :mod:`.logit` vectorised weighted KM (with influence functions),
  weighted counting-process Cox (Efron/Breslow, robust variance) and IRLS logistic regression;
  all checked against R ``survival`` / ``glm``.
- :mod:`.plots`     figures.
"""
