"""Multi-centre analysis from aggregates (issue 13, first part).

Each site shares, per time bin of a common width, the numbers of events and censorings per stratum,
group or covariate pattern (:mod:`.aggregates`); the coordinator computes Kaplan-Meier curves,
(stratified) log-rank tests and Cox models of categorical covariates from these counts alone
(:mod:`.pooled`). With times binned to the same grid, every such number equals the patient-level
analysis of the concatenated, binned data: those estimators depend on the data only through the
numbers at risk and the events at each distinct time, per pattern.
"""
